import type { HttpBundle } from '@trellis/testing/apps';
import type { TestPostgres } from './postgres.mjs';
import type { Nginx } from './nginx.mjs';

/** N instances of an app behind nginx round-robin, sharing PostgreSQL through the fleet plugin (see fleet.mjs). */
export interface Fleet {
  /** nginx's `/mcp` (the first instance's endpoint when started without nginx). */
  readonly url: string;
  readonly nginx: Nginx | undefined;
  /** The throwaway cluster the fleet started (undefined with `fleet: false` or a given `databaseUrl`). */
  readonly postgres: TestPostgres | undefined;
  /** FLEET_DATABASE_URL of every instance (undefined with `fleet: false`). */
  readonly databaseUrl: string | undefined;
  readonly instances: readonly HttpBundle[];
  /** Requests each instance served through nginx so far (from nginx's access log). */
  upstreamCounts(): number[];
  output(): string;
  /** Stops nginx, every instance and the cluster it started (each, even when another fails). */
  stop(): Promise<void>;
}

export interface StartFleetOptions {
  bundle: string;
  instances?: number;
  fleet?: boolean;
  databaseUrl?: string;
  env?: Record<string, string>;
  nginx?: boolean;
}

export function startFleet(options: StartFleetOptions): Promise<Fleet>;
