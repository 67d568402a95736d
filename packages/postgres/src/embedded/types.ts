import type { Logger } from '@trellis/server';
import type pg from 'pg';

/** A running database the plugin connects to, and how to stop it. */
export interface StartedPostgres {
  /** `pg` settings to reach it (a Unix socket, or 127.0.0.1 with a password). */
  connection: pg.ClientConfig;
  /** The PostgreSQL data folder. */
  dataDir: string;
  /** Texts to keep out of messages (a generated password). */
  secrets?: string[];
  stop(): Promise<void>;
}

/** A database started on demand (the plugin's `embedded` option). */
export interface EmbeddedPostgres {
  /** Creates (first time: initialises and seeds), starts and returns the database. */
  start(log: Logger): Promise<StartedPostgres>;
}
