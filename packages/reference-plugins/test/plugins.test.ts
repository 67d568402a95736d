import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '@trellis/concurrency';
import { files } from '@trellis/files';
import { search } from '@trellis/search';
import { createServer, type TrellisServer } from '@trellis/server';
import { connectInProcess, textOf } from '@trellis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNumbers, codeReview, referencePlugins, serverDashboard, type DashboardSource } from '../src/index.js';

const base = mkdtempSync(join(tmpdir(), 'trellis-reference-plugins-'));
const corpus = join(base, 'corpus');
const samples = join(base, 'samples');
mkdirSync(corpus);
mkdirSync(samples);
writeFileSync(join(corpus, 'a.md'), '# Alpha\n\nTask groups and semaphores.');
writeFileSync(join(samples, 'hello.txt'), 'hello');
afterAll(() => rmSync(base, { recursive: true, force: true }));

const SECRET = 'a-very-secret-request-state-key-0123456789';

function serverWith(extraSources: Record<string, DashboardSource> = {}): TrellisServer {
  return createServer({
    name: 'test',
    version: '0.0.0',
    plugins: [
      files({ roots: [samples] }),
      search({ paths: [corpus] }),
      ...referencePlugins({ dashboard: { sources: extraSources } }),
    ],
    configSources: { argv: [], env: { LOG_LEVEL: 'silent', REQUEST_STATE_SECRET: SECRET }, envFiles: [] },
  });
}

describe.each(['legacy', 'modern'] as const)('reference plugins through a real client (%s)', (era) => {
  let server: TrellisServer;
  let connection: Awaited<ReturnType<typeof connectInProcess>>;
  beforeAll(async () => {
    server = serverWith({
      slow: async ({ signal }) => {
        await sleep(60_000, { signal });
        return {};
      },
      broken: () => {
        throw new Error('the sensor is unplugged');
      },
    });
    await server.start();
    connection = await connectInProcess(server, { era });
  });
  afterAll(async () => {
    await connection.close();
    await server.close();
  });

  it('add_numbers answers with text and structured content', async () => {
    const result = await connection.client.callTool({ name: 'add_numbers', arguments: { a: 2, b: 3.5 } });
    expect(result.structuredContent).toEqual({ sum: 5.5 });
    expect(textOf(result)).toBe('2 + 3.5 = 5.5');
  });

  it('add_numbers refuses non-numbers and sums that overflow', async () => {
    const bad = await connection.client.callTool({ name: 'add_numbers', arguments: { a: 'two', b: 3 } });
    expect(bad.isError).toBe(true);
    expect(textOf(bad)).toMatch(/a:/);
    const huge = await connection.client.callTool({
      name: 'add_numbers',
      arguments: { a: Number.MAX_VALUE, b: Number.MAX_VALUE },
    });
    expect(huge.isError).toBe(true);
    expect(textOf(huge)).toMatch(/too large/);
  });

  it('code_review lists its arguments, fences the code safely and completes the language', async () => {
    const { prompts } = await connection.client.listPrompts();
    const prompt = prompts.find((p) => p.name === 'code_review');
    expect(prompt?.arguments?.map((a) => [a.name, a.required])).toEqual([
      ['language', true],
      ['code', true],
    ]);
    const code = 'const s = "```";\nconsole.log(s);';
    const got = await connection.client.getPrompt({ name: 'code_review', arguments: { language: 'TypeScript', code } });
    expect(got.description).toBe('Code review for TypeScript');
    const text = (got.messages[0]!.content as { text: string }).text;
    expect(text).toContain(`\`\`\`\`typescript\n${code}\n\`\`\`\``);
    expect(text).toMatch(/security/);
    const completion = await connection.client.complete({
      ref: { type: 'ref/prompt', name: 'code_review' },
      argument: { name: 'language', value: 'Ty' },
    });
    expect(completion.completion.values).toEqual(['typescript']);
  });

  it('server_dashboard gathers every source at once and names the failures', async () => {
    const result = await connection.client.callTool({ name: 'server_dashboard', arguments: { timeout_ms: 300 } });
    expect(result.isError).toBeFalsy();
    const data = result.structuredContent as {
      sources: Record<string, Record<string, unknown>>;
      failures: { source: string; error: string }[];
      timeout_ms: number;
    };
    expect(Object.keys(data.sources).sort()).toEqual(['config', 'files', 'os', 'process', 'search']);
    expect(data.failures).toEqual([
      { source: 'slow', error: 'slow timed out after 300 ms' },
      { source: 'broken', error: 'the sensor is unplugged' },
    ]);
    expect(data.sources.search).toMatchObject({ documents: 1, roots: [corpus] });
    expect(data.sources.files).toMatchObject({ totals: { files: 1, bytes: 5 } });
    expect(data.sources.process).toMatchObject({ pid: process.pid, node: process.version });
    expect(data.sources.os!.cpus).toBeGreaterThan(0);
    expect(data.sources.config!.REQUEST_STATE_SECRET).toBe('[redacted]');
    expect(JSON.stringify(result)).not.toContain(SECRET);
    const text = textOf(result);
    expect(text).toMatch(/7 sources gathered at once .* 2 failed/);
    expect(text).toMatch(/- search: 1 documents/);
    expect(text).toMatch(/- slow: FAILED — slow timed out after 300 ms/);
  });

  it('server_dashboard validates timeout_ms', async () => {
    const result = await connection.client.callTool({ name: 'server_dashboard', arguments: { timeout_ms: 0 } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/timeout_ms/);
  });
});

describe('reference plugins set-up', () => {
  it('the dashboard with only built-in sources reports no failure under the default deadline', async () => {
    const server = serverWith();
    await server.start();
    const { client, close } = await connectInProcess(server);
    try {
      const result = await client.callTool({ name: 'server_dashboard', arguments: {} });
      expect(result.structuredContent).toMatchObject({ failures: [], timeout_ms: 1000 });
    } finally {
      await close();
      await server.close();
    }
  });

  it('the dashboard needs the search and files plugins', async () => {
    const server = createServer({
      name: 't',
      version: '0',
      plugins: [addNumbers(), codeReview(), serverDashboard()],
      configSources: { argv: [], env: { LOG_LEVEL: 'silent' }, envFiles: [] },
    });
    await expect(server.start()).rejects.toThrow(/search|files/);
  });

  it('refuses an extra source that shadows a built-in one or is not a function', () => {
    expect(() => serverDashboard({ sources: { os: () => ({}) } })).toThrow(/source "os" is built in/);
    expect(() => serverDashboard({ sources: { x: 1 as unknown as DashboardSource } })).toThrow(/must be a function/);
  });
});
