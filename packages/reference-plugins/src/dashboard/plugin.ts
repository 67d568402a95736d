import { monitorEventLoopDelay } from 'node:perf_hooks';
import { settleAll, withTimeout } from '@trellis/concurrency';
import { filesServiceKey } from '@trellis/files';
import { searchIndexKey } from '@trellis/search';
import { definePlugin } from '@trellis/server';
import { z } from 'zod';
import { formatDashboard, type SourceFailure } from './format.js';
import { configSource, filesSource, osSource, processSource, searchSource, type DashboardSource } from './sources.js';

/** Options of {@link serverDashboard}. */
export interface ServerDashboardOptions {
  /** More sources beside the built-in ones (process, os, search, files, config), by name. */
  sources?: Record<string, DashboardSource>;
}

/** Event-loop sampling interval: Node's default, cheap enough to leave on. */
const LOOP_RESOLUTION_MS = 10;

const BUILT_IN = ['process', 'os', 'search', 'files', 'config'] as const;

const output = z.object({
  // JSON values, not `unknown`: a schema with no keyword at all constrains nothing, and strict
  // schema linters (the Inspector's --strict) flag it.
  sources: z
    .record(z.string(), z.record(z.string(), z.json()))
    .describe('Data of each source that answered in time (an object of JSON values), by name'),
  failures: z
    .array(z.object({ source: z.string(), error: z.string() }))
    .describe('Sources that failed or passed their deadline'),
  timeout_ms: z.number(),
  elapsed_ms: z.number(),
});

/**
 * The `server_dashboard` tool: gathers several local sources at once — process
 * and OS figures, search index statistics, a summary of the file roots and the
 * redacted configuration — each under its own deadline (`timeout_ms`), and
 * returns what arrived with the failures named. Depends on the `search` and
 * `files` plugins for their services.
 * @example run({ name: 'ops', version: '1.0.0', plugins: [files(), search(), serverDashboard()] });
 */
export function serverDashboard(options: ServerDashboardOptions = {}) {
  const extra = options.sources ?? {};
  for (const [name, source] of Object.entries(extra)) {
    if ((BUILT_IN as readonly string[]).includes(name))
      throw new TypeError(`serverDashboard: source "${name}" is built in; give the extra source another name`);
    if (typeof source !== 'function')
      throw new TypeError(`serverDashboard: source "${name}" must be a function, got ${typeof source}`);
  }
  return definePlugin({
    name: 'server-dashboard',
    dependsOn: ['search', 'files'],
    setup(scope) {
      // Sampled for the whole life of the server, so the dashboard shows real history, not one instant.
      const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
      loopDelay.enable();
      scope.onClose(() => void loopDelay.disable());
      const sources: Record<string, DashboardSource> = {
        process: processSource(loopDelay, LOOP_RESOLUTION_MS),
        os: osSource,
        search: searchSource(scope.service(searchIndexKey)),
        files: filesSource(scope.service(filesServiceKey)),
        config: configSource,
        ...extra,
      };
      const names = Object.keys(sources);

      scope.tools.add({
        name: 'server_dashboard',
        title: 'Server dashboard',
        description:
          `Shows the state of this server, gathering ${names.join(', ')} at once; each source has its own deadline (timeout_ms). ` +
          'Sources that fail or run late are listed under failures; the others are still returned.',
        input: z.object({
          timeout_ms: z
            .number()
            .int()
            .min(1)
            .max(30_000)
            .default(1000)
            .describe('Deadline of each source, in milliseconds (1–30000)'),
        }),
        output,
        annotations: { readOnlyHint: true, openWorldHint: false },
        async handler({ timeout_ms }, ctx) {
          const started = performance.now();
          const { ok, failed } = await settleAll(
            names.map(
              (name) => (signal: AbortSignal) =>
                withTimeout(async (deadline) => sources[name]!({ signal: deadline, settings: () => ctx.settings() }), {
                  ms: timeout_ms,
                  name,
                  signal,
                }),
            ),
            { signal: ctx.signal },
          );
          const gathered: Record<string, unknown> = {};
          for (const { index, value } of ok) gathered[names[index]!] = value;
          const failures: SourceFailure[] = failed.map(({ index, error }) => ({
            source: names[index]!,
            error: error instanceof Error ? error.message : String(error),
          }));
          for (const failure of failures) ctx.log.warn(failure, 'dashboard source failed');
          const elapsed = Math.round(performance.now() - started);
          return {
            content: [{ type: 'text', text: formatDashboard(gathered, failures, elapsed) }],
            structuredContent: { sources: toJson(gathered), failures, timeout_ms, elapsed_ms: elapsed },
          };
        },
      });
    },
  });
}

/** Plain JSON, so that every client sees the same data (dates as ISO strings, no undefined). */
function toJson(value: Record<string, unknown>): Record<string, Record<string, z.core.util.JSONType>> {
  return JSON.parse(JSON.stringify(value)) as Record<string, Record<string, z.core.util.JSONType>>;
}
