import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';

// Shared with @trellis/prompts: one cursor format for every paginated list.

/** One page of a list, and the cursor of the next page when there is one. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/**
 * Slices `items` at an opaque cursor. The cursor carries the list's name, so a
 * cursor of one list is refused by another; a cursor that does not decode is
 * an invalid-params error, as the spec asks.
 */
export function paginate<T>(items: readonly T[], cursor: string | undefined, pageSize: number, list: string): Page<T> {
  const start = cursor === undefined ? 0 : decodeCursor(cursor, list);
  const end = start + pageSize;
  const page: Page<T> = { items: items.slice(start, end) };
  if (end < items.length) page.nextCursor = encodeCursor(list, end);
  return page;
}

/** Checks a page size given as an option. */
export function assertPageSize(pageSize: number): number {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new TypeError(`pageSize must be a positive integer, got ${String(pageSize)}`);
  }
  return pageSize;
}

function encodeCursor(list: string, offset: number): string {
  return btoa(JSON.stringify({ l: list, o: offset }))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function decodeCursor(cursor: string, list: string): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    parsed = undefined;
  }
  const offset = (parsed as { o?: unknown } | undefined)?.o;
  if (
    (parsed as { l?: unknown } | undefined)?.l !== list ||
    typeof offset !== 'number' ||
    !Number.isSafeInteger(offset) ||
    offset < 0
  ) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      `Invalid cursor for ${list}: pass a nextCursor from an earlier page, or none for the first page`,
      { cursor },
    );
  }
  return offset;
}
