import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { raw, startApp, type TestApp } from './fixtures/http-harness.js';

const apps: TestApp[] = [];
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  for (const app of apps.splice(0)) await app.stop();
});

async function app() {
  const started = await startApp();
  apps.push(started);
  return started;
}

const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]!.text;

describe('graceful shutdown', () => {
  it('lets a slow 2026-07-28 call finish within the grace period, then stops listening', async () => {
    const { http, server, probe } = await app();
    const client = new Client(
      { name: 'modern', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
    closers.push(() => client.close());
    const call = client.callTool({ name: 'slow' });
    await probe.started;

    const closed = http.close({ graceMs: 10_000 });
    // New work is refused while the call drains.
    const ready = await raw(new URL('/readyz', http.url).href, { headers: { connection: 'close' } }).catch(
      () => undefined,
    );
    if (ready) expect(ready.status).toBe(503);
    probe.release();

    expect(textOf(await call)).toBe('done');
    await closed;
    expect(probe.aborted).toBe(false);
    expect(server.state).toBe('closed');
    await expect(raw(new URL('/healthz', http.url).href)).rejects.toThrow();
  });

  it('aborts a 2026-07-28 call still running past the deadline; the client gets an answer', async () => {
    const { http, server, probe } = await app();
    const client = new Client(
      { name: 'modern', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
    closers.push(() => client.close());
    const call = client.callTool({ name: 'slow' }).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    await probe.started;

    await http.close({ graceMs: 100 });
    expect(probe.aborted).toBe(true);
    expect(server.state).toBe('closed');
    // The aborted call is answered, not left hanging: here the tool's own answer to its abort.
    const outcome = await call;
    expect('result' in outcome).toBe(true);
    const result = (outcome as { result: { isError?: boolean; content: { text?: string }[] } }).result;
    expect(result.content[0]?.text).toBe('aborted');
  });

  it('aborts an older-protocol session call past the deadline and closes cleanly', async () => {
    const { http, server, probe } = await app();
    const client = new V1Client({ name: 'v1', version: '1.0.0' });
    await client.connect(new V1Transport(new URL(http.url)));
    closers.push(() => client.close());
    void client.callTool({ name: 'slow', arguments: {} }).catch(() => undefined);
    await probe.started;

    await http.close({ graceMs: 100 });
    expect(probe.aborted).toBe(true);
    expect(server.state).toBe('closed');
    expect(http.sessions).toBe(0);
  });
});
