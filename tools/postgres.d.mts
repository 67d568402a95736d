/** A throwaway PostgreSQL cluster on 127.0.0.1 (see postgres.mjs). */
export interface TestPostgres {
  readonly port: number;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/<database>` */
  readonly url: string;
  readonly password: string;
  readonly dataDir: string;
  start(): Promise<void>;
  /** Runs SQL as the superuser through psql (stops at the first error, which it throws); resolves to psql's unaligned output. */
  sql(text: string, database?: string): Promise<string>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export function startTestPostgres(options?: { database?: string }): Promise<TestPostgres>;
export function freePort(): Promise<number>;

/** Runs `sql` (with `$n` parameters) as whoever `url` names over a connection of its own; resolves to the rows. */
export function admin<Row extends Record<string, unknown> = Record<string, unknown>>(
  url: string,
  sql: string,
  params?: unknown[],
): Promise<Row[]>;

/** Creates a login role owning one schema (named after it by default) and nothing else; returns `url` signed in as it. */
export function schemaOwnerUrl(
  url: string,
  options: { role: string; password: string; schema?: string },
): Promise<string>;
