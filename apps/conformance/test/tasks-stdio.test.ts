import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { bundleEnv } from '@trellis/testing/apps';
import { afterEach, describe, expect, it } from 'vitest';
import { BUNDLE } from './bundle.js';

/**
 * Tasks over stdio (2026-07-28): the conformance suite tests HTTP only, so the
 * stdio path — where tasks belong to the connection — is driven here with raw
 * newline-delimited JSON-RPC against the built bundle.
 */

const TASKS = 'io.modelcontextprotocol/tasks';
const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': { extensions: { [TASKS]: {} } },
  'io.modelcontextprotocol/clientInfo': { name: 'stdio-test', version: '1.0.0' },
};

let child: ChildProcessWithoutNullStreams | undefined;
afterEach(() => {
  child?.kill();
  child = undefined;
});

function connect() {
  const proc = spawn(process.execPath, [BUNDLE], { env: bundleEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  child = proc;
  const waiting = new Map<number, (message: Record<string, unknown>) => void>();
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const message = JSON.parse(line) as Record<string, unknown>;
    if (typeof message.id === 'number') waiting.get(message.id)?.(message);
  });
  let id = 0;
  return (method: string, params: Record<string, unknown> = {}) => {
    id += 1;
    const answer = new Promise<Record<string, unknown>>((resolve) => waiting.set(id, resolve));
    proc.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: META } })}\n`);
    return answer;
  };
}

describe('tasks over stdio', () => {
  it('a long call becomes a task the same connection polls to completion; cancel ends another', async () => {
    const rpc = connect();
    const discover = (await rpc('server/discover')).result as {
      capabilities: { extensions?: Record<string, unknown> };
    };
    expect(discover.capabilities.extensions?.[TASKS]).toEqual({});

    const created = (await rpc('tools/call', { name: 'slow_compute', arguments: { seconds: 1, label: 'stdio' } }))
      .result as Record<string, unknown>;
    expect(created).toMatchObject({ resultType: 'task', status: 'working' });
    const taskId = created.taskId as string;
    let task: Record<string, unknown> = {};
    for (let i = 0; i < 100 && task.status !== 'completed'; i += 1) {
      task = (await rpc('tasks/get', { taskId })).result as Record<string, unknown>;
      if (task.status !== 'completed') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(task).toMatchObject({
      status: 'completed',
      result: { content: [{ type: 'text', text: 'Computed stdio after 1 s' }] },
    });

    const long = (await rpc('tools/call', { name: 'slow_compute', arguments: { seconds: 60 } })).result as {
      taskId: string;
    };
    expect((await rpc('tasks/cancel', { taskId: long.taskId })).result).toMatchObject({ resultType: 'complete' });
    expect((await rpc('tasks/get', { taskId: long.taskId })).result).toMatchObject({ status: 'cancelled' });
    expect((await rpc('tasks/list')).error).toMatchObject({ code: -32601 });
    expect((await rpc('tasks/get', { taskId: 'unknown' })).error).toMatchObject({ code: -32602 });
  });
});
