import { cpus, arch, freemem, loadavg, platform, release, totalmem, uptime } from 'node:os';
import type { IntervalHistogram } from 'node:perf_hooks';
import type { FilesService } from '@trellis/files';
import type { SearchIndexService } from '@trellis/search';

/** What a dashboard source receives: a signal that aborts at its deadline or when the call is cancelled. */
export interface SourceContext {
  signal: AbortSignal;
  /** The server's configuration as it may be shown: every secret redacted (as `config://settings`). */
  settings: () => Record<string, unknown>;
}

/**
 * One source of the dashboard: returns an object of plain JSON data, or throws (the failure
 * is reported by name and the other sources still show).
 * @example const db: DashboardSource = async ({ signal }) => ({ ping_ms: await ping(signal) });
 */
export type DashboardSource = (ctx: SourceContext) => object | Promise<object>;

const MIB = 1024 * 1024;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const mib = (bytes: number) => round(bytes / MIB);

/**
 * The process: memory, CPU time, uptime and event-loop delay since start-up.
 * The histogram records the time between its timer's runs, so the timer's own
 * interval (`resolutionMs`) is taken off to leave the delay.
 */
export function processSource(loopDelay: IntervalHistogram, resolutionMs: number): DashboardSource {
  const ms = (ns: number) => Math.max(0, round(ns / 1e6 - resolutionMs, 2));
  return () => {
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    const sampled = loopDelay.count > 0;
    return {
      pid: process.pid,
      node: process.version,
      uptime_s: round(process.uptime()),
      memory_mib: {
        rss: mib(memory.rss),
        heap_used: mib(memory.heapUsed),
        heap_total: mib(memory.heapTotal),
        external: mib(memory.external),
      },
      cpu_ms: { user: round(cpu.user / 1000), system: round(cpu.system / 1000) },
      event_loop_delay_ms: sampled
        ? {
            min: ms(loopDelay.min),
            mean: ms(loopDelay.mean),
            p50: ms(loopDelay.percentile(50)),
            p99: ms(loopDelay.percentile(99)),
            max: ms(loopDelay.max),
            samples: loopDelay.count,
          }
        : null,
    };
  };
}

/** The machine: load, memory, uptime, CPUs (no host name: it is not the model's business). */
export const osSource: DashboardSource = () => {
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return {
    platform: platform(),
    arch: arch(),
    release: release(),
    cpus: cpus().length,
    load_average: { '1m': round(one, 2), '5m': round(five, 2), '15m': round(fifteen, 2) },
    memory_mib: { total: mib(totalmem()), free: mib(freemem()) },
    uptime_s: Math.round(uptime()),
  };
};

/** The search index: size and how it was built. */
export function searchSource(index: SearchIndexService): DashboardSource {
  return () => {
    const { skipped, ...stats } = index.stats();
    return { ...stats, skipped: skipped.length };
  };
}

/** The file roots: counts and sizes, walked now (this is the source most likely to hit its deadline). */
export function filesSource(service: FilesService): DashboardSource {
  return ({ signal }) => service.summarize({ signal });
}

/** The configuration, secrets redacted (the same view as `config://settings`, schema-aware). */
export const configSource: DashboardSource = ({ settings }) => settings();
