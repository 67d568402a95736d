import { AsyncLocalStorage } from 'node:async_hooks';
import type { Client } from '@modelcontextprotocol/client';
import {
  acceptedContent,
  definePlugin,
  inputRequired,
  MissingRequiredClientCapabilityError,
  ToolError,
  type OperationEnd,
  type ServedOperation,
  type TrellisServer,
} from '@trellis/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { connectInProcess } from '../src/index.js';
import { ERAS, startServer, textOf, withClient } from './helpers.js';

/**
 * The one pipeline: which path served a call, that both paths answer alike,
 * and that no handler runs twice for one client request.
 */

let running: TrellisServer | undefined;
afterEach(async () => {
  await running?.close({ graceMs: 100 });
  running = undefined;
});

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const NAME_SCHEMA = { type: 'object' as const, properties: { name: { type: 'string' as const } }, required: ['name'] };

function countingPlugin(runs: Map<string, number>) {
  const count = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);
  return definePlugin({
    name: 'counting',
    setup(scope) {
      scope.tools.add({
        name: 'which_path',
        description: 'Says which path served it: the SDK (ctx.sdk set) or the fast path',
        handler: (_args, ctx) => (ctx.sdk ? 'sdk' : 'fast'),
      });
      scope.tools.add({
        name: 'asks_declared',
        description: 'Asks the user a push-style question',
        interactive: true,
        handler: async (_args, ctx) => {
          count('asks_declared');
          const answer = await ctx.elicit({ message: 'Your name?', requestedSchema: NAME_SCHEMA });
          return `${ctx.sdk ? 'sdk' : 'fast'}:${String(answer.content?.name)}`;
        },
      });
      scope.tools.add({
        name: 'asks_undeclared',
        description: 'Asks without declaring interactive',
        handler: async (_args, ctx) => {
          count('asks_undeclared');
          try {
            await ctx.elicit({ message: 'Your name?', requestedSchema: NAME_SCHEMA });
            return 'asked';
          } catch (error) {
            // A handler that catches the refusal still sees why.
            throw new ToolError((error as Error).message);
          }
        },
      });
      scope.tools.add({
        name: 'input_required_declared',
        description: 'Asks with an input_required answer',
        interactive: true,
        handler: (_args, ctx) => {
          const got = acceptedContent(ctx.inputResponses, 'name') as { name?: string } | undefined;
          count(got ? 'input_required_declared:answered' : 'input_required_declared:asked');
          if (got?.name) return `Hello, ${got.name}!`;
          return inputRequired({
            inputRequests: { name: inputRequired.elicit({ message: 'Your name?', requestedSchema: NAME_SCHEMA }) },
          });
        },
      });
      scope.tools.add({
        name: 'input_required_undeclared',
        description: 'Answers input_required without declaring interactive',
        handler: () => {
          count('input_required_undeclared');
          return inputRequired({
            inputRequests: { name: inputRequired.elicit({ message: 'Your name?', requestedSchema: NAME_SCHEMA }) },
          });
        },
      });
      scope.tools.add({
        name: 'protocol_error',
        description: 'Fails with a protocol error',
        handler: () => {
          count('protocol_error');
          throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { sampling: {} } });
        },
      });
      scope.tools.add({
        name: 'chatty',
        description: 'Reports progress and logs at two levels, then answers',
        input: z.object({ n: z.number().int() }),
        output: z.object({ doubled: z.number() }),
        handler: async ({ n }, ctx) => {
          await ctx.progress(1, 2, 'half');
          await ctx.clientLog('debug', 'debug line');
          await ctx.clientLog('warning', 'warning line');
          await ctx.progress(2, 2);
          return { structuredContent: { doubled: n * 2 } };
        },
      });
      scope.tools.add({
        name: 'fails',
        description: 'Fails with a bug and with a ToolError',
        input: z.object({ bug: z.boolean() }),
        handler: ({ bug }) => {
          if (bug) throw new Error('secret internal detail');
          throw new ToolError('The widget is missing; create it first.');
        },
      });
    },
  });
}

/** Runs a fixed script and records every answer and notification, without ids. */
async function transcript(client: Client, era: (typeof ERAS)[number]): Promise<unknown[]> {
  const seen: unknown[] = [];
  client.setNotificationHandler('notifications/message', (n) => void seen.push({ log: n.params }));
  if (era === 'legacy') await client.setLoggingLevel('info');
  const settle = async (call: () => Promise<unknown>) => {
    try {
      seen.push({ result: await call() });
    } catch (error) {
      const e = error as { code?: number; message?: string; data?: unknown };
      seen.push({ error: { code: e.code, message: e.message, data: e.data } });
    }
  };
  await settle(() =>
    client.callTool({ name: 'chatty', arguments: { n: 21 } }, { onprogress: (p) => void seen.push({ progress: p }) }),
  );
  await settle(() => client.callTool({ name: 'chatty', arguments: { n: 'x' } }));
  await settle(() => client.callTool({ name: 'fails', arguments: { bug: true } }));
  await settle(() => client.callTool({ name: 'fails', arguments: { bug: false } }));
  await settle(() => client.callTool({ name: 'no_such_tool', arguments: {} }));
  await settle(() => client.callTool({ name: 'protocol_error', arguments: {} }));
  await settle(() => client.callTool({ name: 'asks_undeclared', arguments: {} }));
  await settle(() => client.callTool({ name: 'input_required_undeclared', arguments: {} }));
  return seen;
}

describe.each(ERAS)('the one pipeline (%s)', (era) => {
  it('serves plain calls on the fast path and interactive tools through the SDK, or everything through the SDK when the fast path is off', async () => {
    const { server } = await startServer([countingPlugin(new Map())]);
    running = server;
    const capabilities = { elicitation: { form: {} } };
    await withClient(server, { era, capabilities, fastPath: true }, async (client) => {
      client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
      // On 2026-07-28 stdio the SDK pins the connection with the first request it serves.
      await client.listTools();
      expect(textOf(await client.callTool({ name: 'which_path', arguments: {} }))).toBe('fast');
      if (era === 'legacy')
        expect(textOf(await client.callTool({ name: 'asks_declared', arguments: {} }))).toBe('sdk:Ada');
    });
    await withClient(server, { era, capabilities, fastPath: false }, async (client) => {
      await client.listTools();
      expect(textOf(await client.callTool({ name: 'which_path', arguments: {} }))).toBe('sdk');
    });
  });

  it('gives identical answers, notifications and errors with the fast path on and off', async () => {
    const { server } = await startServer([countingPlugin(new Map())]);
    running = server;
    const fast = await withClient(server, { era, fastPath: true }, async (client) => {
      await client.listTools();
      return transcript(client, era);
    });
    const sdk = await withClient(server, { era, fastPath: false }, (client) => transcript(client, era));
    expect(fast).toEqual(sdk);
    expect(JSON.stringify(fast)).not.toContain('secret internal detail');
    expect(JSON.stringify(fast)).toContain('interactive: true');
  });

  it('runs each handler once per client request, whether it asks the client, answers input_required or fails with a protocol error', async () => {
    const runs = new Map<string, number>();
    const { server } = await startServer([countingPlugin(runs)]);
    running = server;
    await withClient(server, { era, capabilities: { elicitation: { form: {} } } }, async (client) => {
      client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
      await client.listTools();
      if (era === 'legacy') {
        expect(textOf(await client.callTool({ name: 'asks_declared', arguments: {} }))).toBe('sdk:Ada');
        expect(runs.get('asks_declared')).toBe(1);
      }
      // The client's SDK answers the input request and retries (2026-07-28), or the server's SDK asks and re-enters with the answer (older): one round each.
      expect(textOf(await client.callTool({ name: 'input_required_declared', arguments: {} }))).toBe('Hello, Ada!');
      expect(runs.get('input_required_declared:asked')).toBe(1);
      expect(runs.get('input_required_declared:answered')).toBe(1);
      await expect(client.callTool({ name: 'protocol_error', arguments: {} })).rejects.toMatchObject({ code: -32021 });
      expect(runs.get('protocol_error')).toBe(1);
      const undeclared = await client.callTool({ name: 'asks_undeclared', arguments: {} });
      expect(undeclared.isError).toBe(true);
      expect(runs.get('asks_undeclared')).toBe(1);
      const early = await client.callTool({ name: 'input_required_undeclared', arguments: {} });
      expect(early.isError).toBe(true);
      expect(textOf(early)).toContain('interactive: true');
      expect(runs.get('input_required_undeclared')).toBe(1);
    });
  });

  it('tells observers of every operation, with its outcome and timings, on both paths', async () => {
    const { server } = await startServer([countingPlugin(new Map())]);
    running = server;
    const seen: { op: ServedOperation; end: OperationEnd }[] = [];
    const stop = server.observe((op) => (end) => void seen.push({ op, end }));
    const connection = await connectInProcess(server, { era });
    try {
      await connection.client.listTools();
      await connection.client.callTool({ name: 'which_path', arguments: {}, _meta: { traceparent: TRACEPARENT } });
      await connection.client.callTool({ name: 'fails', arguments: { bug: false } });
      await connection.client.callTool({ name: 'no_such_tool', arguments: {} }).catch(() => undefined);
    } finally {
      await connection.close();
      stop();
    }
    const calls = seen.filter((s) => s.op.method === 'tools/call');
    expect(calls.map((c) => [c.op.target, c.end.outcome, c.end.code])).toEqual([
      ['which_path', 'result', undefined],
      ['fails', 'isError', undefined],
      ['no_such_tool', 'error', -32602],
    ]);
    expect(calls[0]!.op.meta?.traceparent).toBe(TRACEPARENT);
    for (const { op, end } of calls) {
      expect(op).toMatchObject({ era, transport: 'in-process' });
      expect(end.durationMs).toBeGreaterThanOrEqual(0);
      expect(end.queuedMs).toBe(0);
    }
    // The protocol's own requests are observed too.
    expect(seen.map((s) => s.op.method)).toContain(era === 'modern' ? 'server/discover' : 'initialize');
  });

  it('tells an observer how long a call waited for the server-wide limit', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const gated = definePlugin({
      name: 'gated',
      setup(scope) {
        scope.tools.add({ name: 'gated', description: 'Waits for the test', handler: () => gate.then(() => 'done') });
      },
    });
    const { server } = await startServer([gated], { limits: { maxConcurrentCalls: 1 } });
    running = server;
    const ends: OperationEnd[] = [];
    server.observe((op) => (op.method === 'tools/call' ? (end) => void ends.push(end) : undefined));
    await withClient(server, { era }, async (client) => {
      const first = client.callTool({ name: 'gated', arguments: {} });
      const second = client.callTool({ name: 'gated', arguments: {} });
      await new Promise((resolve) => setTimeout(resolve, 50));
      open();
      expect([textOf(await first), textOf(await second)]).toEqual(['done', 'done']);
    });
    const waits = ends.map((end) => end.queuedMs).sort((a, b) => a - b);
    expect(waits[0]).toBe(0);
    // The second call held no slot until the first one's handler returned, about 50 ms later.
    expect(waits[1]).toBeGreaterThanOrEqual(40);
    expect(ends.every((end) => end.outcome === 'result' && end.durationMs >= end.queuedMs)).toBe(true);
  });

  it('runs the work inside an observer’s run (the handler sees its context) and hands it the result', async () => {
    const store = new AsyncLocalStorage<string>();
    const probe = definePlugin({
      name: 'probe',
      setup(scope) {
        scope.tools.add({
          name: 'whose',
          description: 'Says whose context it runs in',
          handler: () => store.getStore() ?? 'none',
        });
      },
    });
    const { server } = await startServer([probe]);
    running = server;
    const ends: { method: string; end: OperationEnd }[] = [];
    server.observe((op) => ({
      run: (work) => store.run(`${op.method} ${op.target ?? ''}`.trim(), work),
      end: (end) => void ends.push({ method: op.method, end }),
    }));
    await withClient(server, { era }, async (client) => {
      expect(textOf(await client.callTool({ name: 'whose', arguments: {} }))).toBe('tools/call whose');
    });
    const call = ends.find((e) => e.method === 'tools/call');
    expect(call?.end).toMatchObject({
      outcome: 'result',
      result: { content: [{ type: 'text', text: 'tools/call whose' }] },
    });
  });
});
