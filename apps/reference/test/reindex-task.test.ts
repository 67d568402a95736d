import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpBundle, type HttpBundle } from '@trellis/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJsonRpc } from '../../../tools/json-rpc-post.ts';
import { BUNDLE, SERVER_ENV } from './helpers.js';

/**
 * `reindex_search` as an MCP task (2026-07-28, the Tasks extension) against the
 * built bundle over HTTP: a corpus large enough that a re-index takes a while,
 * polled, cancelled and completed with raw JSON-RPC (what any client sends).
 */

const TASKS = 'io.modelcontextprotocol/tasks';
const FILES = 4_000;
let corpus: string;
let server: HttpBundle;
let id = 0;

async function rpc(method: string, params: Record<string, unknown>, tasks = true): Promise<Record<string, unknown>> {
  id += 1;
  const _meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': tasks ? { extensions: { [TASKS]: {} } } : {},
  };
  const message = await postJsonRpc(server.url, { id, method, params: { ...params, _meta } });
  if (!message.result) throw new Error(`${method}: ${JSON.stringify(message.error)}`);
  return message.result;
}

async function until(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  corpus = mkdtempSync(join(tmpdir(), 'trellis-reindex-'));
  for (let i = 0; i < FILES; i += 1) {
    const dir = join(corpus, `part-${i % 40}`);
    if (i < 40) mkdirSync(dir);
    writeFileSync(
      join(dir, `note-${i}.md`),
      `# Note ${i}\n\n${'Tomatoes and parsnips grow in the garden. '.repeat(20)}word${i}\n`,
    );
  }
  server = await startHttpBundle({ bundle: BUNDLE, env: { ...SERVER_ENV, SEARCH_PATHS: corpus } });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(corpus, { recursive: true, force: true });
});

describe('reindex_search as a task', () => {
  it('reports progress as its status, can be cancelled (the old index stays), and completes when left alone', async () => {
    const started = await rpc('tools/call', { name: 'reindex_search', arguments: {} });
    expect(started).toMatchObject({ resultType: 'task', status: 'working' });
    const taskId = started.taskId as string;
    await until(async () => /read \d+ of 4000 files/.test(String((await rpc('tasks/get', { taskId })).statusMessage)));
    expect(await rpc('tasks/cancel', { taskId })).toMatchObject({ resultType: 'complete' });
    await until(async () => (await rpc('tasks/get', { taskId })).status === 'cancelled');
    const search = await rpc('tools/call', { name: 'search', arguments: { query: 'word17' } }, false);
    expect((search.structuredContent as { total: number }).total).toBe(1);

    const again = await rpc('tools/call', { name: 'reindex_search', arguments: {} });
    const againId = again.taskId as string;
    let task: Record<string, unknown> = {};
    await until(async () => (task = await rpc('tasks/get', { taskId: againId })).status === 'completed', 60_000);
    expect((task.result as { structuredContent: unknown }).structuredContent).toMatchObject({
      documents: FILES,
      changed: 0,
    });
  });

  it('is an ordinary call for a client without the extension', async () => {
    const result = await rpc('tools/call', { name: 'reindex_search', arguments: {} }, false);
    expect(result.resultType).toBe('complete');
    expect(result.structuredContent).toMatchObject({ documents: FILES });
  });
});
