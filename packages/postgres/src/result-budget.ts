import { PostgresError } from './errors.js';
import type { GuardTrip } from './result-guard.js';

/** A value PostgreSQL cut to a preview because its text passed `maxValueBytes`. */
export interface CutValue {
  /** Its row, from 0. */
  row: number;
  column: string;
  /** The full value's size in bytes, as text. */
  bytes: number;
}

const NARROW =
  'Narrow the query: select fewer columns, add a WHERE clause or a LIMIT, or cut long values in SQL (left(col, 1000), octet_length(col))';

/** `1048576` → `1 MiB`; `600000000` → `572.2 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Why the guard stopped, in words. */
function tripText(trip: GuardTrip, maxBytes: number): string {
  switch (trip.reason) {
    case 'budget':
      return trip.rows === 0
        ? `the first row is ${formatBytes(trip.announcedBytes)}, more than the result budget of ${formatBytes(maxBytes)}`
        : `after ${trip.rows} row(s) (${formatBytes(trip.receivedBytes)}) the next row (${formatBytes(trip.announcedBytes)}) would pass the result budget of ${formatBytes(maxBytes)}`;
    case 'message':
      return `the server sent a message of ${formatBytes(trip.announcedBytes)}, more than one answer may hold (${formatBytes(trip.messageLimit)})`;
    case 'decode':
      return 'the driver could not decode what the server sent';
  }
}

/** The note of a query result: what was cut and how to narrow the query; null when nothing was. */
export function budgetNote(outcome: {
  rowCount: number;
  truncatedBy: 'rows' | 'bytes' | null;
  maxRows: number;
  maxBytes: number;
  maxValueBytes: number;
  trip: GuardTrip | undefined;
  cutValues: readonly { row: number; column: string; bytes: number }[];
}): string | null {
  const parts: string[] = [];
  if (outcome.truncatedBy === 'rows')
    parts.push(
      `TRUNCATED: the statement returned more than ${outcome.maxRows} rows. Add a LIMIT or a narrower WHERE clause to see the rest.`,
    );
  if (outcome.truncatedBy === 'bytes' && outcome.trip) {
    parts.push(
      `TRUNCATED: ${tripText(outcome.trip, outcome.maxBytes)} (POSTGRES_MAX_RESULT_BYTES), so the statement was stopped; ${outcome.rowCount} row(s) that fit are shown. ${NARROW}.`,
    );
  }
  if (outcome.cutValues.length > 0) {
    const listed = outcome.cutValues
      .slice(0, 5)
      .map((cut) => `row ${cut.row + 1} ${cut.column} (${formatBytes(cut.bytes)})`)
      .join(', ');
    const more = outcome.cutValues.length > 5 ? ` and ${outcome.cutValues.length - 5} more` : '';
    parts.push(
      `CUT VALUES: ${outcome.cutValues.length} value(s) longer than ${formatBytes(outcome.maxValueBytes)} (POSTGRES_MAX_VALUE_BYTES) are shown as their first characters only: ${listed}${more}. Select a part with substring(col, start, count) to read further.`,
    );
  }
  return parts.length > 0 ? parts.join('\n') : null;
}

/** The error of a catalog operation whose answer passed the budget (queries answer what fits instead). */
export function tooLargeError(trip: GuardTrip, maxBytes: number, cause: unknown): PostgresError {
  return new PostgresError(
    'RESULT_TOO_LARGE',
    `The answer was stopped: ${tripText(trip, maxBytes)} (POSTGRES_MAX_RESULT_BYTES). ${NARROW}.`,
    { cause },
  );
}
