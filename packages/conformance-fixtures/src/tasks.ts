import { sleep } from '@trellis/concurrency';
import {
  acceptedContent,
  definePlugin,
  inputRequired,
  ProtocolError,
  ProtocolErrorCode,
  ToolError,
} from '@trellis/server';
import { z } from 'zod';

const CONFIRM_SCHEMA = {
  type: 'object' as const,
  properties: { confirm: { type: 'boolean' as const } },
  required: ['confirm'],
};
const NAME_SCHEMA = { type: 'object' as const, properties: { name: { type: 'string' as const } }, required: ['name'] };

/**
 * The fixtures of the `tasks-*` scenarios (the Tasks extension, SEP-2663, in
 * conformance 0.2.0-alpha.12), under the names and behaviours the scenarios
 * call. When each call answers inline and when it becomes a task follows the
 * server's one rule (see `@trellis/tasks`): a call still running after its
 * tool's `detachAfterMs` becomes a task; `detachAfterMs: 0` makes it one before
 * the handler runs.
 */
export function conformanceTasks() {
  return definePlugin({
    name: 'conformance-tasks',
    setup(scope) {
      scope.tools.add({
        name: 'greet',
        description: 'Greets someone by name (never a task)',
        input: z.object({ name: z.string() }),
        handler: ({ name }) => `Hello, ${name}!`,
      });

      scope.tools.add({
        name: 'slow_compute',
        description:
          'Sleeps for `seconds` seconds, reporting progress, then answers; a task when it runs longer than a moment',
        input: z.object({ seconds: z.number().min(0).max(3600), label: z.string().optional() }),
        taskSupport: 'optional',
        handler: async ({ seconds, label }, ctx) => {
          const steps = Math.max(1, Math.ceil(seconds * 4));
          for (let step = 0; step < steps && seconds > 0; step += 1) {
            await ctx.progress(step, steps, `computing ${label ?? ''} ${step}/${steps}`.replace('  ', ' '));
            await sleep((seconds * 1000) / steps, { signal: ctx.signal });
          }
          return `Computed ${label ?? 'result'} after ${seconds} s`;
        },
      });

      // Not called by the suites: the fleet tests kill the instance running it and expect a survivor to
      // run it again from the start (the tool declares itself safe to re-run).
      scope.tools.add({
        name: 'test_rerunnable_compute',
        description:
          'Sleeps for `seconds` seconds as a task, then names the process that finished it; safe to run again from the start',
        input: z.object({ seconds: z.number().min(0).max(3600) }),
        taskSupport: 'optional',
        task: { detachAfterMs: 0, rerunnable: true },
        handler: async ({ seconds }, ctx) => {
          await sleep(seconds * 1000, { signal: ctx.signal });
          return `Computed by process ${process.pid}`;
        },
      });

      scope.tools.add({
        name: 'failing_job',
        description: 'Runs for about a second, then reports a tool error (only as a task)',
        taskSupport: 'required',
        handler: async (_args, ctx) => {
          await sleep(1_000, { signal: ctx.signal });
          throw new ToolError('failing_job failed on purpose: the job reported an error');
        },
      });

      scope.tools.add({
        name: 'protocol_error_job',
        description: 'Runs for a moment, then fails with a protocol error (a failed task)',
        taskSupport: 'optional',
        handler: async (_args, ctx) => {
          await sleep(500, { signal: ctx.signal });
          throw new ProtocolError(ProtocolErrorCode.InternalError, 'protocol_error_job crashed on purpose');
        },
      });

      scope.tools.add({
        name: 'confirm_delete',
        interactive: true,
        description:
          'Asks the user to confirm deleting a file (nothing is deleted), as a task that waits for the answer',
        input: z.object({ filename: z.string() }),
        taskSupport: 'optional',
        task: { detachAfterMs: 0 },
        handler: ({ filename }, ctx) => {
          const answer = acceptedContent(ctx.inputResponses, 'confirm');
          if (answer) return answer.confirm === true ? `Deleted ${filename}` : `Kept ${filename}`;
          return inputRequired({
            inputRequests: {
              confirm: inputRequired.elicit({ message: `Delete ${filename}?`, requestedSchema: CONFIRM_SCHEMA }),
            },
          });
        },
      });

      scope.tools.add({
        name: 'multi_input',
        interactive: true,
        description: 'Asks two questions at once, as a task that waits until both are answered',
        taskSupport: 'optional',
        task: { detachAfterMs: 0 },
        handler: (_args, ctx) => {
          const first = acceptedContent(ctx.inputResponses, 'first');
          const second = acceptedContent(ctx.inputResponses, 'second');
          if (first && second) return `Got ${String(first.name)} and ${String(second.name)}`;
          return inputRequired({
            inputRequests: {
              first: inputRequired.elicit({ message: 'First name?', requestedSchema: NAME_SCHEMA }),
              second: inputRequired.elicit({ message: 'Second name?', requestedSchema: NAME_SCHEMA }),
            },
          });
        },
      });

      scope.tools.add({
        name: 'test_tool_with_task',
        interactive: true,
        description: 'Asks for a name inline (multi-round-trip), then processes it as a task',
        taskSupport: 'required',
        // Round 1 answers at once (inline); round 2 works for two seconds, so it becomes a task.
        task: { detachAfterMs: 1_000 },
        handler: async (_args, ctx) => {
          const got = acceptedContent(ctx.inputResponses, 'user_name');
          if (typeof got?.name !== 'string')
            return inputRequired({
              inputRequests: {
                user_name: inputRequired.elicit({ message: 'What is your name?', requestedSchema: NAME_SCHEMA }),
              },
            });
          await ctx.progress(0, 1, `processing ${got.name}`);
          await sleep(2_000, { signal: ctx.signal });
          return `Hello, ${got.name}! Your request was processed as a task.`;
        },
      });
    },
  });
}
