import { existsSync } from 'node:fs';
import {
  CLIENT_KINDS,
  connectBundle,
  inspectorCli,
  prepareInspector,
  startHttpBundle,
  type BundleConnection,
  type HttpBundle,
} from '@trellis/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE } from './bundle.js';

const SIMPLE_TEXT = 'This is a simple text response for testing.';

function firstText(result: { content?: unknown }): string | undefined {
  return (result.content as { type: string; text?: string }[] | undefined)?.find((c) => c.type === 'text')?.text;
}

/** Tools listed and called (with and without arguments), resources listed. */
async function exercise(client: BundleConnection): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['test_simple_text', 'test_error_handling']));
  expect(firstText(await client.callTool({ name: 'test_simple_text' }))).toBe(SIMPLE_TEXT);
  const { resources } = await client.listResources();
  expect(resources.map((r) => r.uri)).toContain('test://static-text');
  const result = await client.callTool({ name: 'test_error_handling', arguments: {} });
  expect(result.isError).toBe(true);
}

let http: HttpBundle;
beforeAll(async () => {
  http = await startHttpBundle({ bundle: BUNDLE });
});
afterAll(async () => {
  await http?.stop();
});

describe('trellis-conformance bundle with real clients', () => {
  it('was built', () => expect(existsSync(BUNDLE)).toBe(true));

  // v1 is @modelcontextprotocol/sdk 1.32.2; v2 the 2025 handshake; v2-modern pins 2026-07-28.
  it.each(CLIENT_KINDS)('serves the %s client over stdio', async (kind) => {
    const client = await connectBundle({ bundle: BUNDLE, transport: 'stdio', client: kind });
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  });

  it.each(CLIENT_KINDS)('serves the %s client over HTTP', async (kind) => {
    const client = await connectBundle({ transport: 'http', client: kind, url: http.url });
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  });
});

describe('the MCP Inspector CLI (on the isolated Node 22)', () => {
  beforeAll(async () => {
    await prepareInspector();
  }, 600_000);

  it('lists and calls tools over stdio', async () => {
    const listed = await inspectorCli([process.execPath, BUNDLE, '--method', 'tools/list']);
    expect((listed.json.tools as { name: string }[]).map((t) => t.name)).toContain('test_simple_text');
    const called = await inspectorCli([
      process.execPath,
      BUNDLE,
      '--method',
      'tools/call',
      '--tool-name',
      'test_simple_text',
    ]);
    expect(called.stdout).toContain(SIMPLE_TEXT);
  }, 180_000);

  it('lists and calls tools over HTTP', async () => {
    const listed = await inspectorCli([http.url, '--transport', 'http', '--method', 'tools/list']);
    expect((listed.json.tools as { name: string }[]).map((t) => t.name)).toContain('test_simple_text');
    const called = await inspectorCli([
      http.url,
      '--transport',
      'http',
      '--method',
      'tools/call',
      '--tool-name',
      'test_simple_text',
    ]);
    expect(called.stdout).toContain(SIMPLE_TEXT);
  }, 180_000);
});
