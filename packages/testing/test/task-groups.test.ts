import { definePlugin, ToolError, type TrellisServer } from '@trellis/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERAS, startServer, textOf, withClient, type LogCapture } from './helpers.js';

/**
 * ctx.group in a tool call, the same with or without `timeoutMs`, and never a
 * JSON-RPC error: the first failure aborts siblings; an observed failure
 * belongs to the handler; an unobserved one makes an isError result once the
 * handler returns; children still running are awaited (aborted if the handler fails).
 */

const state = { siblingAborted: false, lateChildDone: false, orphanAborted: false };

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), { once: true });
  });

function groupTools(timeoutMs: number | undefined) {
  const suffix = timeoutMs ? '_timed' : '';
  return definePlugin({
    name: `groups${suffix}`,
    setup(scope) {
      const add = (name: string, handler: Parameters<typeof scope.tools.add>[0]['handler']) =>
        scope.tools.add({ name: `${name}${suffix}`, description: name, ...(timeoutMs && { timeoutMs }), handler });
      add('observed_failure', async (_args, ctx) => {
        const child = ctx.group.spawn(async () => {
          throw new Error('child boom');
        });
        try {
          await child;
          return 'not reached';
        } catch {
          return 'recovered';
        }
      });
      add('gathered_failures', async (_args, ctx) => {
        // gather(..., return_exceptions=True): every handle observed through allSettled.
        const settled = await Promise.allSettled([
          ctx.group.spawn(async () => 'ok'),
          ctx.group.spawn(async () => Promise.reject(new Error('part failed'))),
        ]);
        return settled.map((s) => s.status).join(',');
      });
      add('unobserved_failure', (_args, ctx) => {
        void ctx.group.spawn(async () => {
          throw new Error('secret child detail');
        });
        return 'handler answered';
      });
      add('unobserved_tool_error', (_args, ctx) => {
        void ctx.group.spawn(async () => {
          throw new ToolError('The index is offline; try again in a minute.');
        });
        return 'handler answered';
      });
      add('siblings', async (_args, ctx) => {
        state.siblingAborted = false;
        const sibling = ctx.group.spawn(async (signal) => {
          try {
            await sleep(5_000, signal);
          } catch {
            state.siblingAborted = true;
          }
        });
        const failing = ctx.group.spawn(async () => {
          throw new Error('first failure');
        });
        await Promise.allSettled([sibling, failing]);
        return `sibling aborted: ${state.siblingAborted}`;
      });
      add('late_child', (_args, ctx) => {
        state.lateChildDone = false;
        void ctx.group.spawn(async (signal) => {
          await sleep(100, signal);
          state.lateChildDone = true;
        });
        return 'answered before the child finished';
      });
      add('handler_fails', (_args, ctx) => {
        state.orphanAborted = false;
        void ctx.group.spawn(async (signal) => {
          try {
            await sleep(5_000, signal);
          } catch {
            state.orphanAborted = true;
          }
        });
        throw new ToolError('The handler gave up.');
      });
    },
  });
}

let server: TrellisServer;
let logs: LogCapture;
beforeAll(async () => {
  ({ server, logs } = await startServer([groupTools(undefined), groupTools(10_000)]));
});
afterAll(async () => {
  await server.close({ graceMs: 100 });
});

describe.each(ERAS)('task groups in a tool call (%s)', (era) => {
  it.each(['', '_timed'])(
    'follow the documented rules (suffix "%s"), never answering a JSON-RPC error',
    async (suffix) => {
      await withClient(server, { era }, async (client) => {
        const call = (name: string) => client.callTool({ name: `${name}${suffix}`, arguments: {} });

        const observed = await call('observed_failure');
        expect([observed.isError, textOf(observed)]).toEqual([undefined, 'recovered']);

        const gathered = await call('gathered_failures');
        expect([gathered.isError, textOf(gathered)]).toEqual([undefined, 'fulfilled,rejected']);

        const unobserved = await call('unobserved_failure');
        expect(unobserved.isError).toBe(true);
        expect(textOf(unobserved)).toContain('a task it started failed with an internal error');
        expect(textOf(unobserved)).not.toContain('secret child detail');
        expect(logs.text()).toContain('secret child detail');

        const told = await call('unobserved_tool_error');
        expect([told.isError, textOf(told)]).toEqual([true, 'The index is offline; try again in a minute.']);

        expect(textOf(await call('siblings'))).toBe('sibling aborted: true');

        const late = await call('late_child');
        expect(textOf(late)).toBe('answered before the child finished');
        expect(state.lateChildDone).toBe(true);

        const failed = await call('handler_fails');
        expect([failed.isError, textOf(failed)]).toEqual([true, 'The handler gave up.']);
        expect(state.orphanAborted).toBe(true);
      });
    },
  );
});

describe('an expected tool timeout', () => {
  it('answers isError and logs at warn, without a stack', async () => {
    const slow = definePlugin({
      name: 'slow',
      setup(scope) {
        scope.tools.add({
          name: 'too_slow',
          description: 'Outlives its timeout',
          timeoutMs: 50,
          handler: (_args, ctx) => sleep(5_000, ctx.signal).then(() => 'late'),
        });
      },
    });
    const started = await startServer([slow]);
    try {
      const result = await withClient(started.server, { era: 'legacy' }, (client) =>
        client.callTool({ name: 'too_slow', arguments: {} }),
      );
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('timed out');
      const records = started.logs.records.filter((r) => r.tool === 'too_slow');
      expect(records.map((r) => [r.level, r.msg])).toEqual([[40, 'tool call timed out']]);
      expect(JSON.stringify(records)).not.toContain('stack');
    } finally {
      await started.server.close({ graceMs: 100 });
    }
  });
});
