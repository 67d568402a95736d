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
