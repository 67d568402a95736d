import { loadModule, parseSync } from 'libpg-query';
import { deniedFamily } from './denied-functions.js';
import { PostgresError } from './errors.js';

/** What a statement that passed the guard is. */
export interface CheckedStatement {
  /** `select` covers SELECT, WITH, VALUES and TABLE (PostgreSQL's SelectStmt). */
  kind: 'select' | 'explain' | 'show';
  /** The statement alone: no trailing semicolon or text after it. */
  text: string;
}

interface RawStatement {
  stmt?: Record<string, unknown>;
  stmt_location?: number;
  stmt_len?: number;
}

const KINDS: Record<string, CheckedStatement['kind']> = {
  SelectStmt: 'select',
  ExplainStmt: 'explain',
  VariableShowStmt: 'show',
};

let loaded: Promise<void> | undefined;

/** Loads PostgreSQL's parser (WebAssembly) once; later calls return at once. */
export function loadParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

/**
 * Parses `sql` with PostgreSQL's own grammar (libpg_query) and refuses, before
 * it reaches the server: syntax errors, more than one statement, anything but a
 * query (SELECT/WITH/VALUES/TABLE, EXPLAIN of one, SHOW), `SELECT … INTO`, and
 * calls of a function on the deny-list (file access, large objects, replication,
 * signalling, configuration, WAL, advisory locks, dblink/postgres_fdw…) anywhere
 * in the statement. PostgreSQL's READ ONLY transaction remains the guard against
 * writes; this one keeps out what READ ONLY lets through.
 */
export async function checkStatement(sql: string): Promise<CheckedStatement> {
  await loadParser();
  let tree: { stmts?: RawStatement[] };
  try {
    tree = parseSync(sql) as { stmts?: RawStatement[] };
  } catch (error) {
    const position = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    const at = position === undefined ? '' : ` at character ${position + 1}`;
    throw new PostgresError(
      'QUERY_FAILED',
      `PostgreSQL's parser rejected the statement: ${(error as Error).message}${at}.`,
      { sqlState: '42601', cause: error },
    );
  }
  const statements = tree.stmts ?? [];
  if (statements.length === 0)
    throw new PostgresError(
      'QUERY_FAILED',
      'The SQL text is empty (only blanks or comments). Send one SELECT statement.',
    );
  if (statements.length > 1)
    throw new PostgresError(
      'READ_ONLY',
      `This tool is read-only and runs one statement per call; this text holds ${statements.length}.`,
    );
  const raw = statements[0]!;
  const [type, node] = Object.entries(raw.stmt ?? {})[0] ?? ['?', {}];
  const kind = KINDS[type];
  if (kind === undefined) {
    throw new PostgresError(
      'READ_ONLY',
      `This tool is read-only: ${describeStatement(type)} statements are refused. Only SELECT, WITH, VALUES, TABLE, EXPLAIN and SHOW run here.`,
    );
  }
  if (kind === 'explain') {
    const inner = Object.keys((node as { query?: Record<string, unknown> }).query ?? {})[0] ?? '?';
    if (inner !== 'SelectStmt')
      throw new PostgresError(
        'READ_ONLY',
        `This tool is read-only: EXPLAIN runs here for queries only, not for ${describeStatement(inner)}.`,
      );
  }
  if (kind === 'select' && (node as { intoClause?: unknown }).intoClause !== undefined) {
    throw new PostgresError('READ_ONLY', 'This tool is read-only: SELECT … INTO creates a table and is refused.');
  }
  refuseDeniedCalls(node);
  return { kind, text: statementText(sql, raw) };
}

const WRITES = ['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'];

/** Throws when the tree writes (a data-modifying WITH) or calls a function of the deny-list anywhere. */
function refuseDeniedCalls(root: unknown): void {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const node = pending.pop();
    if (Array.isArray(node)) {
      pending.push(...node);
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    const write = WRITES.find((key) => key in node);
    if (write)
      throw new PostgresError(
        'READ_ONLY',
        `This tool is read-only: ${describeStatement(write)} is refused, also inside WITH.`,
      );
    const call = (node as { FuncCall?: { funcname?: { String?: { sval?: string } }[] } }).FuncCall;
    if (call?.funcname) {
      const parts = call.funcname.map((part) => part.String?.sval ?? '');
      const name = parts.at(-1) ?? '';
      const schema = parts.length > 1 ? parts.at(-2) : undefined;
      const family = deniedFamily(schema, name);
      if (family) {
        throw new PostgresError(
          'FUNCTION_DENIED',
          `The function ${parts.join('.')}() is refused here (${family.what}). Query tables and views instead.`,
        );
      }
    }
    pending.push(...Object.values(node));
  }
}

/** The statement's own text: libpg_query reports its extent in UTF-8 bytes. */
function statementText(sql: string, raw: RawStatement): string {
  const bytes = Buffer.from(sql, 'utf8');
  const start = raw.stmt_location ?? 0;
  const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
  return bytes.subarray(start, end).toString('utf8');
}

/** `InsertStmt` → `INSERT`, `CreateTableAsStmt` → `CREATE TABLE AS`. */
function describeStatement(type: string): string {
  return type
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}
