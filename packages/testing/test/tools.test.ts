import { definePlugin, ToolError, image, text } from '@trellis/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERAS, startServer, textOf, withClient } from './helpers.js';
import type { TrellisServer } from '@trellis/server';

let running: TrellisServer | undefined;
afterEach(async () => {
  await running?.close({ graceMs: 100 });
  running = undefined;
});

const Address = z.object({ street: z.string(), city: z.string() });

const toolsPlugin = () =>
  definePlugin({
    name: 'sample-tools',
    setup(scope) {
      scope.tools.add({
        name: 'ping_tool',
        description: 'Answers pong; takes no arguments',
        handler: () => 'pong',
      });
      scope.tools.add({
        name: 'search',
        description: 'Searches',
        input: z.strictObject({
          query: z.string().min(1).max(500),
          limit: z.number().int().min(1).max(100).default(10),
          sort_by: z.enum(['date', 'relevance', 'title']).optional(),
          address: Address.optional(),
        }),
        handler: ({ query, limit }) => `${query}:${limit}`,
      });
      scope.tools.add({
        name: 'add',
        description: 'Adds two numbers',
        input: z.object({ a: z.number(), b: z.number() }),
        output: z.object({ sum: z.number() }),
        handler: ({ a, b }) => ({ structuredContent: { sum: a + b }, content: [text(String(a + b))] }),
      });
      scope.tools.add({
        name: 'bad_output',
        description: 'Returns output that breaks its schema',
        output: z.object({ sum: z.number() }),
        handler: () => ({ structuredContent: { sum: 'nope' } as never }),
      });
      scope.tools.add({
        name: 'explode',
        description: 'Throws an internal error',
        handler: () => {
          throw new Error('database password is hunter2');
        },
      });
      scope.tools.add({
        name: 'refuse',
        description: 'Throws an error meant for the model',
        handler: () => {
          throw new ToolError('No such user: 42. List users first.');
        },
      });
      scope.tools.add({
        name: 'slow',
        description: 'Waits until aborted or 10 s',
        timeoutMs: 150,
        handler: (_args, ctx) =>
          new Promise<string>((resolve, reject) => {
            const timer = setTimeout(() => resolve('finished'), 10_000);
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(ctx.signal.reason);
            });
          }),
      });
      scope.tools.add({
        name: 'picture',
        description: 'Returns an image',
        handler: () => [image(Buffer.from([137, 80, 78, 71]), 'image/png')],
      });
      scope.tools.add({
        name: 'progress',
        description: 'Reports progress three times',
        handler: async (_args, ctx) => {
          for (const step of [0, 50, 100]) await ctx.progress(step, 100, `step ${step}`);
          return 'done';
        },
      });
    },
  });

describe.each(ERAS)('tools over the %s protocol', (era) => {
  it('lists tools with 2020-12 schemas, descriptions and output schemas', async () => {
    const { server } = await startServer([toolsPlugin()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const { tools } = await client.listTools();
      const search = tools.find((t) => t.name === 'search')!;
      expect(search.description).toBe('Searches');
      expect(search.inputSchema).toMatchObject({ type: 'object', additionalProperties: false, required: ['query'] });
      expect(tools.find((t) => t.name === 'add')!.outputSchema).toMatchObject({
        type: 'object',
        properties: { sum: { type: 'number' } },
      });
      expect(tools.find((t) => t.name === 'ping_tool')!.inputSchema).toEqual({ type: 'object', properties: {} });
    });
  });

  it('calls a tool without arguments when `arguments` is omitted', async () => {
    const { server } = await startServer([toolsPlugin()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const result = await client.callTool({ name: 'ping_tool' });
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toBe('pong');
    });
  });

  it('names every bad argument and what was expected', async () => {
    const { server } = await startServer([toolsPlugin()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const result = await client.callTool({
        name: 'search',
        arguments: { query: '', limit: 500, sort_by: 'size', extra: true },
      });
      expect(result.isError).toBe(true);
      const message = textOf(result);
      expect(message).toContain('query: must be at least 1 characters long');
      expect(message).toContain('limit: must be at most 100');
      expect(message).toContain('sort_by: expected one of "date", "relevance", "title"');
      expect(message).toContain('extra: is not a known argument');
      const ok = await client.callTool({ name: 'search', arguments: { query: 'mcp' } });
      expect(textOf(ok)).toBe('mcp:10');
    });
  });

  it('answers an unknown tool with a JSON-RPC invalid-params error', async () => {
    const { server } = await startServer([toolsPlugin()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      await expect(client.callTool({ name: 'nope', arguments: {} })).rejects.toMatchObject({ code: -32602 });
    });
  });

  it('returns structured content validated against the output schema', async () => {
    const { server, logs } = await startServer([toolsPlugin()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
      expect(result.structuredContent).toEqual({ sum: 5 });
      expect(textOf(result)).toBe('5');
      const bad = await client.callTool({ name: 'bad_output', arguments: {} });
      expect(bad.isError).toBe(true);
      expect(textOf(bad)).toContain('does not match its output schema');
      expect(logs.text()).toContain('structured content does not match');
    });
  });

  it('turns an exception into a safe isError result and logs the stack', async () => {
    const { server, logs } = await startServer([toolsPlugin()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const result = await client.callTool({ name: 'explode', arguments: {} });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe('Tool "explode" failed with an internal error; the details are in the server log.');
      expect(textOf(result)).not.toContain('hunter2');
      const record = logs.records.find((r) => r.msg === 'tool call failed');
      expect(record).toMatchObject({ tool: 'explode' });
      expect(JSON.stringify(record)).toContain('at ');
      const refused = await client.callTool({ name: 'refuse', arguments: {} });
      expect(textOf(refused)).toBe('No such user: 42. List users first.');
    });
  });

  it('aborts a tool at its timeout and says so', async () => {
    const { server } = await startServer([toolsPlugin()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const result = await client.callTool({ name: 'slow', arguments: {} });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/timed out after 150 ms/);
    });
  });

  it('sends progress notifications when the client asks for them', async () => {
    const { server } = await startServer([toolsPlugin()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const seen: number[] = [];
      const result = await client.callTool(
        { name: 'progress', arguments: {} },
        { onprogress: (p) => seen.push(p.progress) },
      );
      expect(textOf(result)).toBe('done');
      expect(seen).toEqual([0, 50, 100]);
    });
  });

  it('returns content helpers as MCP content blocks', async () => {
    const { server } = await startServer([toolsPlugin()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const result = await client.callTool({ name: 'picture', arguments: {} });
      expect(result.content).toEqual([
        { type: 'image', data: Buffer.from([137, 80, 78, 71]).toString('base64'), mimeType: 'image/png' },
      ]);
    });
  });
});

describe('cancellation', () => {
  it.each(ERAS)('a client cancel over %s aborts the handler signal', async (era) => {
    let resolveSeen: (reason: unknown) => void = () => undefined;
    const seen = new Promise<unknown>((resolve) => (resolveSeen = resolve));
    const plugin = definePlugin({
      name: 'waiter',
      setup(scope) {
        scope.tools.add({
          name: 'wait',
          description: 'Waits for abort',
          handler: (_args, ctx) =>
            new Promise<string>((_resolve, reject) => {
              ctx.signal.addEventListener('abort', () => {
                resolveSeen(ctx.signal.reason);
                reject(ctx.signal.reason);
              });
            }),
        });
      },
    });
    const { server } = await startServer([plugin]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const controller = new AbortController();
      const call = client.callTool({ name: 'wait', arguments: {} }, { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('user pressed stop')), 50);
      await expect(call).rejects.toThrow();
      await expect(seen).resolves.toBeDefined();
    });
  });

  it('server shutdown aborts a running handler', async () => {
    let aborted = false;
    const plugin = definePlugin({
      name: 'waiter',
      setup(scope) {
        scope.tools.add({
          name: 'wait',
          description: 'Waits for abort',
          handler: (_args, ctx) =>
            new Promise<string>((resolve) => {
              ctx.signal.addEventListener('abort', () => {
                aborted = true;
                resolve('stopped');
              });
            }),
        });
      },
    });
    const { server } = await startServer([plugin]);
    await withClient(server, { era: 'legacy' }, async (client) => {
      const call = client.callTool({ name: 'wait', arguments: {} }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
      expect(server.inflight).toBe(1);
      await server.close({ graceMs: 50 });
      await call;
    });
    expect(aborted).toBe(true);
  });
});

describe('limits', () => {
  it('a tool at its concurrency limit answers busy after the queue wait', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const plugin = definePlugin({
      name: 'limited',
      setup(scope) {
        scope.tools.add({
          name: 'one_at_a_time',
          description: 'Holds its only slot until released',
          concurrency: 1,
          queueTimeoutMs: 100,
          handler: async () => {
            await gate;
            return 'done';
          },
        });
      },
    });
    const { server } = await startServer([plugin]);
    running = server;
    await withClient(server, { era: 'legacy' }, async (client) => {
      const first = client.callTool({ name: 'one_at_a_time', arguments: {} });
      await new Promise((r) => setTimeout(r, 20));
      const second = await client.callTool({ name: 'one_at_a_time', arguments: {} });
      expect(second.isError).toBe(true);
      expect(textOf(second)).toMatch(
        /Server busy: tool "one_at_a_time" is at its concurrency limit \(1 running, 0 waiting\).*Retry in about \d+ s/,
      );
      release();
      expect(textOf(await first)).toBe('done');
    });
  });

  it('the server-wide limit applies across tools', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const plugin = definePlugin({
      name: 'gated',
      setup(scope) {
        scope.tools.add({ name: 'hold', description: 'Holds', handler: async () => (await gate, 'held') });
        scope.tools.add({ name: 'quick', description: 'Quick', handler: () => 'quick' });
      },
    });
    const { server } = await startServer([plugin], { limits: { maxConcurrentCalls: 1, queueTimeoutMs: 80 } });
    running = server;
    await withClient(server, { era: 'modern' }, async (client) => {
      const held = client.callTool({ name: 'hold', arguments: {} });
      await new Promise((r) => setTimeout(r, 20));
      const quick = await client.callTool({ name: 'quick', arguments: {} });
      expect(textOf(quick)).toMatch(/Server busy: the server is at its concurrency limit/);
      release();
      expect(textOf(await held)).toBe('held');
    });
  });
});
