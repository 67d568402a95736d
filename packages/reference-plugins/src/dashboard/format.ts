/** A failed source: its name and what went wrong. */
export interface SourceFailure {
  source: string;
  error: string;
}

type Data = Record<string, unknown>;

const obj = (value: unknown): Data => (typeof value === 'object' && value !== null ? (value as Data) : {});

function bytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d`;
}

/** One line per known source; other sources as compact JSON. */
const LINES: Record<string, (data: Data) => string> = {
  process(d) {
    const memory = obj(d.memory_mib);
    const delay = d.event_loop_delay_ms === null ? undefined : obj(d.event_loop_delay_ms);
    const loop = delay
      ? `, event-loop delay p50 ${String(delay.p50)} ms / p99 ${String(delay.p99)} ms`
      : ', event-loop delay not sampled yet';
    return `pid ${String(d.pid)}, Node ${String(d.node)}, up ${duration(Number(d.uptime_s))}, RSS ${String(memory.rss)} MiB, heap ${String(memory.heap_used)}/${String(memory.heap_total)} MiB${loop}`;
  },
  os(d) {
    const load = obj(d.load_average);
    const memory = obj(d.memory_mib);
    return `${String(d.platform)} ${String(d.arch)}, ${String(d.cpus)} CPUs, load ${String(load['1m'])} ${String(load['5m'])} ${String(load['15m'])}, memory ${String(memory.free)} MiB free of ${String(memory.total)} MiB, up ${duration(Number(d.uptime_s))}`;
  },
  search(d) {
    return `${String(d.documents)} documents, ${String(d.terms)} distinct terms, ${bytes(Number(d.bytes))}, built in ${String(d.buildMs)} ms${Number(d.skipped) > 0 ? `, ${String(d.skipped)} files skipped` : ''}`;
  },
  files(d) {
    const totals = obj(d.totals);
    const roots = Array.isArray(d.roots) ? d.roots.map(obj) : [];
    const truncated = roots.some((r) => r.truncated) ? ' (walk cut short: at least)' : '';
    return `${String(totals.files)} files in ${String(totals.directories)} folders, ${bytes(Number(totals.bytes))}${truncated} under ${roots.map((r) => String(r.root)).join(', ')}`;
  },
  config(d) {
    const redacted = Object.values(d).filter((v) => v === '[redacted]').length;
    return `${Object.keys(d).length} settings${redacted > 0 ? `, ${redacted} secret${redacted === 1 ? '' : 's'} redacted` : ''} (read config://settings for all)`;
  },
};

/** The dashboard as text for a model or a person. */
export function formatDashboard(
  sources: Record<string, unknown>,
  failures: readonly SourceFailure[],
  elapsedMs: number,
): string {
  const total = Object.keys(sources).length + failures.length;
  const lines = [`Server dashboard: ${total} sources gathered at once in ${elapsedMs} ms, ${failures.length} failed.`];
  for (const [name, data] of Object.entries(sources)) {
    const line = LINES[name]?.(obj(data)) ?? JSON.stringify(data).slice(0, 300);
    lines.push(`- ${name}: ${line}`);
  }
  for (const failure of failures) lines.push(`- ${failure.source}: FAILED — ${failure.error}`);
  return lines.join('\n');
}
