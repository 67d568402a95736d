import { inspect } from 'node:util';

/** Largest delay setTimeout honours; a larger one silently becomes 1 ms. */
const MAX_DELAY_MS = 2_147_483_647;

function describe(value: unknown): string {
  return inspect(value, { depth: 0, breakLength: Infinity });
}

/** A count limit: a positive integer, or Infinity for "no limit". */
export function assertLimit(option: string, value: unknown): asserts value is number {
  const ok = typeof value === 'number' && (value === Infinity || (Number.isInteger(value) && value >= 1));
  if (!ok) throw new TypeError(`${option} must be a positive integer or Infinity, got ${describe(value)}`);
}

/** A positive integer (sizes and bounds where Infinity makes no sense). */
export function assertPositiveInteger(option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`${option} must be a positive integer, got ${describe(value)}`);
  }
}

/** A duration in milliseconds that setTimeout can honour. */
export function assertDuration(option: string, value: unknown): asserts value is number {
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_DELAY_MS;
  if (!ok)
    throw new TypeError(
      `${option} must be a number of milliseconds between 0 and ${MAX_DELAY_MS}, got ${describe(value)}`,
    );
}

/** A positive amount (Infinity allowed), e.g. a time to live that no timer has to honour. */
export function assertPositiveNumber(option: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new TypeError(`${option} must be a positive number, got ${describe(value)}`);
  }
}
