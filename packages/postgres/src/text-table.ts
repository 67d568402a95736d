const CELL_MAX = 60;

function cell(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > CELL_MAX ? `${flat.slice(0, CELL_MAX - 1)}…` : flat;
}

/**
 * A plain-text table a model (or a person) reads easily:
 * ```
 * id | name
 * ---+------
 * 1  | Ada
 * ```
 * Long cells are cut at 60 characters; the structured content keeps the full values.
 */
export function textTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  if (headers.length === 0) return '(no columns)';
  const body = rows.map((row) => headers.map((_, i) => cell(row[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(' | ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)].join('\n');
}
