// The surroundings the API reference's `@example` fragments assume — a handler's `ctx`, a plugin's `scope`, a
// request's `signal`, values and functions of the caller's own code — declared once with real types, so each
// example is checked against the API it shows. code-blocks.ts imports a name from here only when an example uses
// it without declaring it and no package exports it.
import type { BackgroundTasks, KeyedSemaphore, Semaphore, TaskGroup, TtlCache, WorkerPool } from '@trellis/concurrency';
import type { ConfigSchema } from '@trellis/config';
import type { HttpClient } from '@trellis/http';
import type { HttpBundle } from '@trellis/testing/apps';
import type { PromptRegistry } from '@trellis/prompts';
import type { ResourceRegistry } from '@trellis/resources';
import type { AnyPlugin, Logger, PluginScope, PluginWorkerPool, RequestContext, TrellisServer } from '@trellis/server';

// Inside a handler, a plugin's setup, or a request.
export declare const ctx: RequestContext;
export declare const scope: PluginScope<Record<string, unknown>>;
export declare const signal: AbortSignal;
export declare const log: Logger;
export declare const logger: Logger;
export declare const error: unknown;

// An app and its server.
export declare const server: TrellisServer;
export declare const name: string;
export declare const version: string;
export declare const plugins: AnyPlugin[];
export declare const schema: ConfigSchema;
export declare let config: Readonly<Record<string, unknown>>;
export declare const registry: ResourceRegistry<RequestContext>;
export declare const prompts: PromptRegistry<RequestContext>;

// Concurrency primitives made earlier by the caller.
export declare const sem: Semaphore;
export declare const group: TaskGroup;
export declare const cache: TtlCache<string, unknown>;
export declare const pool: WorkerPool;
export declare const background: BackgroundTasks;
export declare const perHost: KeyedSemaphore;
export declare const perTenant: KeyedSemaphore;
export declare const http: HttpClient;
export declare const hasher: PluginWorkerPool;

// Tests of a built app.
export declare const BUNDLE: string;
export declare const DIST: string;
export declare const bundle: string;
export declare const app: HttpBundle;

// The caller's own plugins.
export declare function greeter(): AnyPlugin;
export declare function forecast(): AnyPlugin;

// The caller's own data and functions.
export declare const url: string;
export declare const diff: string;
export declare const guide: string;
export declare const pngBytes: Uint8Array;
export declare function work(): Promise<void>;
export declare function fetchJson(url: string, init?: { signal?: AbortSignal }): Promise<unknown>;
export declare function fetchText(url: string, init?: { signal?: AbortSignal }): Promise<string>;
/** A database pool such as pg's. */
export interface Pool {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}
