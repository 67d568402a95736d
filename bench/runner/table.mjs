// Medians, ratios against each eligible baseline, target checks, and the Markdown table.
import { FIGURES } from './targets.mjs';

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function fmt(value, unit) {
  if (!Number.isFinite(value)) return '–';
  if (unit === 'calls/s' || unit === '/s') return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** Target check for Trellis against the best eligible baseline. */
function verdict(figure, ours, best) {
  const t = figure.target;
  if (!t || !Number.isFinite(ours)) return '';
  if (t.abs !== undefined) return ours <= t.abs ? `✓ ≤ ${t.abs} ms` : `✗ ${fmt(ours - t.abs)} ms over ${t.abs} ms`;
  if (!Number.isFinite(best) || best === 0) return '';
  const ratio = ours / best;
  if (t.min !== undefined)
    return ratio >= t.min
      ? `✓ ≥ ${t.min}×`
      : `✗ ${ratio.toFixed(2)}× < ${t.min}× (needs +${((t.min / ratio - 1) * 100).toFixed(0)}%)`;
  if (t.max !== undefined)
    return ratio <= t.max
      ? `✓ ≤ ${t.max}×`
      : `✗ ${ratio.toFixed(2)}× > ${t.max}× (needs −${((1 - t.max / ratio) * 100).toFixed(0)}%)`;
  return '';
}

/**
 * One Markdown table per group. `samples[group.id][server][key]` holds the counted repetitions.
 * Ratios are Trellis ÷ baseline (for calls/s above 1 is better; for ms, MiB, KiB below 1 is better).
 */
export function formatGroups(groups, samples, labels) {
  const out = [];
  const rows = [];
  for (const group of groups) {
    const data = samples[group.id];
    if (!data) continue;
    const [ours, ...bases] = group.servers;
    const keys = FIGURES.filter((f) => f.key.startsWith(`${group.transport}.`) && data[ours]?.[f.key]);
    if (keys.length === 0) continue;
    const header = [
      'figure',
      labels[ours],
      ...bases.map((b) => labels[b]),
      ...bases.map((b) => `÷ ${labels[b]}`),
      'target (vs best)',
    ];
    const lines = keys.map((f) => {
      const m = (s) => median(data[s]?.[f.key] ?? []);
      const oursValue = m(ours);
      const baseValues = bases.map(m).filter(Number.isFinite);
      const best = baseValues.length ? (f.higher ? Math.max(...baseValues) : Math.min(...baseValues)) : NaN;
      rows.push({
        group: group.id,
        figure: f.key,
        trellis: oursValue,
        ...Object.fromEntries(bases.map((b) => [b, m(b)])),
      });
      return [
        `${f.label} (${f.unit})`,
        fmt(oursValue, f.unit),
        ...bases.map((b) => fmt(m(b), f.unit)),
        ...bases.map((b) => (Number.isFinite(m(b)) && m(b) !== 0 ? `${(oursValue / m(b)).toFixed(2)}×` : '–')),
        verdict(f, oursValue, best),
      ];
    });
    out.push(`#### ${group.title}\n\n${markdown(header, lines)}`);
  }
  return { text: out.join('\n'), rows };
}

export function markdown(header, lines) {
  const widths = header.map((h, i) => Math.max(String(h).length, ...lines.map((l) => String(l[i]).length)));
  const row = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n') + '\n';
}
