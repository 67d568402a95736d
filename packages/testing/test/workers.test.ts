import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { definePlugin, type TrellisServer } from '@trellis/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERAS, startServer, textOf, withClient } from './helpers.js';

/** The fixture package's sources: its built workers sit in its dist/workers/. */
const FROM = new URL('./fixtures/worker-plugin/src/plugin.ts', import.meta.url);

let running: TrellisServer | undefined;
afterEach(async () => {
  await running?.close({ graceMs: 100 });
  running = undefined;
});

const crunching = (worker = 'crunch') =>
  definePlugin({
    name: 'crunching',
    setup(scope) {
      const pool = scope.workers(worker, { from: FROM });
      scope.tools.add({
        name: 'crunch',
        description: 'Runs a job on the worker pool',
        input: z.object({ op: z.enum(['square', 'spin', 'exit']), n: z.number().default(0) }),
        handler: async (job, ctx) => {
          const { value, threadId: ran } = await pool.run<{ value: number; threadId: number }>(job, {
            signal: ctx.signal,
          });
          return {
            content: [{ type: 'text', text: String(value) }],
            structuredContent: { value, offThread: ran !== threadId, size: pool.size },
          };
        },
      });
    },
  });

describe.each(ERAS)('scope.workers: a plugin worker pool through a real client (%s)', (era) => {
  it('runs jobs on worker threads, sized by WORKER_THREADS', async () => {
    const { server } = await startServer([crunching()], {
      configSources: { argv: [], env: { WORKER_THREADS: '3' }, envFiles: [] },
    });
    running = server;
    await withClient(server, { era }, async (client) => {
      const result = await client.callTool({ name: 'crunch', arguments: { op: 'square', n: 7 } });
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toEqual({ value: 49, offThread: true, size: 3 });
    });
  });

  it('terminates the job of a cancelled request, and keeps serving', async () => {
    const { server } = await startServer([crunching()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const cancel = new AbortController();
      const spinning = client.callTool({ name: 'crunch', arguments: { op: 'spin' } }, { signal: cancel.signal });
      setTimeout(() => cancel.abort(new Error('user pressed stop')), 300);
      await expect(spinning).rejects.toThrow(/user pressed stop|abort/i);
      const after = await client.callTool({ name: 'crunch', arguments: { op: 'square', n: 3 } });
      expect(textOf(after)).toBe('9');
    });
  });

  it('answers a crashed worker with a clear isError, and replaces it', async () => {
    const { server, logs } = await startServer([crunching()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const crashed = await client.callTool({ name: 'crunch', arguments: { op: 'exit' } });
      expect(crashed.isError).toBe(true);
      expect(textOf(crashed)).toBe(
        'The "crunch" worker crashed while doing this; try again, and report it if it happens again.',
      );
      expect(logs.text()).toMatch(/worker exited with code: 9/);
      expect(textOf(await client.callTool({ name: 'crunch', arguments: { op: 'square', n: 4 } }))).toBe('16');
    });
  });

  it('answers a worker that cannot start with a clear isError at once, never a hang', async () => {
    const { server, logs } = await startServer([crunching('broken')]);
    running = server;
    await withClient(server, { era }, async (client) => {
      for (let i = 0; i < 2; i++) {
        const result = await client.callTool({ name: 'crunch', arguments: { op: 'square', n: 2 } });
        expect(result.isError).toBe(true);
        expect(textOf(result)).toBe(
          'The "broken" worker cannot start, so this cannot be done now; the server log has the details.',
        );
      }
      expect(textOf(await client.callTool({ name: 'crunch', arguments: { op: 'square' } }))).not.toMatch(/left-pad/);
      expect(logs.text()).toMatch(/worker pool \\"broken\\" cannot start a worker: Cannot find package \\"left-pad\\"/);
    });
  });
});

describe('scope.workers at start-up', () => {
  it('stops the start, naming the plugin and the fix, for a worker the package does not declare', async () => {
    await expect(startServer([crunching('resize')])).rejects.toMatchObject({
      code: 'WORKER_NOT_FOUND',
      plugin: 'crunching',
      message: expect.stringMatching(
        /plugin "crunching": worker "resize" not found .* declare it in .*worker-plugin\/package\.json/,
      ),
    });
  });

  it('shuts down promptly while a job spins: the job is stopped and the pool closed', async () => {
    const { server } = await startServer([crunching()]);
    await withClient(server, { era: 'modern' }, async (client) => {
      const spinning = client.callTool({ name: 'crunch', arguments: { op: 'spin' } });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = performance.now();
      await server.close({ graceMs: 100 });
      expect(performance.now() - started).toBeLessThan(5_000);
      const answer = await spinning;
      expect(answer.isError).toBe(true);
      expect(textOf(answer)).toMatch(/was stopped: the server is shutting down/);
    });
  });
});
