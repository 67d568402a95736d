import { PostgresError } from './errors.js';

/** Statements that only read. Anything else is refused before it reaches the server. */
const READING = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'EXPLAIN', 'SHOW']);

/**
 * The first keyword of a statement, after leading blanks, comments and
 * opening parentheses; undefined when there is none.
 */
export function firstKeyword(sql: string): string | undefined {
  let i = 0;
  while (i < sql.length) {
    const rest = sql.slice(i);
    const blank = /^[\s(]+/.exec(rest);
    if (blank) {
      i += blank[0].length;
      continue;
    }
    if (rest.startsWith('--')) {
      const end = rest.indexOf('\n');
      i = end === -1 ? sql.length : i + end + 1;
      continue;
    }
    if (rest.startsWith('/*')) {
      // Block comments nest in PostgreSQL.
      let depth = 0;
      let j = 0;
      do {
        if (rest.startsWith('/*', j)) {
          depth++;
          j += 2;
        } else if (rest.startsWith('*/', j)) {
          depth--;
          j += 2;
        } else j++;
      } while (depth > 0 && j < rest.length);
      i += j;
      continue;
    }
    return /^[A-Za-z_]+/.exec(rest)?.[0].toUpperCase();
  }
  return undefined;
}

/**
 * Refuses statements that are not queries before they reach the database.
 * PostgreSQL's READ ONLY transaction is the real guard against writes; this one
 * keeps out what READ ONLY lets through (COPY … TO PROGRAM, LOAD, CHECKPOINT…).
 */
export function assertReadingStatement(sql: string): void {
  const keyword = firstKeyword(sql);
  if (keyword === undefined) throw new PostgresError('QUERY_FAILED', 'The SQL text is empty (only blanks or comments). Send one SELECT statement.');
  if (!READING.has(keyword)) {
    throw new PostgresError('READ_ONLY', `This tool is read-only: "${keyword}" statements are refused. Only SELECT, WITH, VALUES, TABLE, EXPLAIN and SHOW run here.`);
  }
}
