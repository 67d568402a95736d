import type { BackgroundTasks } from '@trellis/concurrency';
import type { PromptSpec } from '@trellis/prompts';
import type { ResourceSpec, ResourceTemplateSpec } from '@trellis/resources';
import type { AnyToolSpec, ToolSpec } from '@trellis/tools';
import type { z } from 'zod';
import type { RequestContext } from './context.js';
import type { Logger } from './logging.js';
import type { Middleware } from './middleware.js';
import type { OperationObserver } from './pipeline.js';
import type { TaskChange } from '@trellis/tasks';
import type { ServiceKey } from './services.js';
import type { PluginWorkerPool, PluginWorkersOptions } from './workers.js';

/** What a readiness check reports; `detail` is shown on `/readyz` (no secrets). */
export interface ReadyState {
  ok: boolean;
  detail?: string;
}

/** What a plugin may register, and its lifecycle. */
export interface PluginScope<Config> {
  /** The plugin's name (as mounted). */
  readonly name: string;
  /** The server's configuration, typed by this plugin's schema. */
  readonly config: Config;
  readonly log: Logger;
  /** Tracked fire-and-forget work, drained when the server closes. */
  readonly background: BackgroundTasks;
  readonly tools: {
    add<I extends z.ZodType | undefined, O extends z.ZodType | undefined>(spec: ToolSpec<I, O, RequestContext>): void;
    remove(name: string): boolean;
  };
  readonly resources: {
    add(spec: ResourceSpec<RequestContext>): void;
    template(spec: ResourceTemplateSpec<RequestContext>): void;
    remove(uri: string): boolean;
    /** Tells subscribed clients that `uri` changed. */
    notifyUpdated(uri: string): void;
  };
  readonly prompts: {
    add<A extends z.ZodObject | undefined>(spec: PromptSpec<A, RequestContext>): void;
    remove(name: string): boolean;
  };
  /** Middleware around operations on this plugin's own tools, resources and prompts. */
  use(middleware: Middleware): void;
  /** Middleware around every operation of the server. */
  useGlobal(middleware: Middleware): void;
  /** An observer of every request the server serves (see `TrellisServer.observe`); removed when the plugin closes. */
  observe(observer: OperationObserver): void;
  /** A listener of every task status change (see `TrellisServer.observeTasks`); removed when the plugin closes. */
  observeTasks(listener: (change: TaskChange) => void): void;
  /** Offers a service to the plugins that depend on this one. */
  provide<T>(key: ServiceKey<T>, value: T): void;
  /** A service from a plugin named in `dependsOn`. */
  service<T>(key: ServiceKey<T>): T;
  /** Releases what setup opened; run in reverse setup order, each under a deadline. */
  onClose(close: () => void | Promise<void>): void;
  /**
   * A pool of worker threads for CPU-bound work, running the worker module this plugin's
   * package declares in its package.json (`"trellis": { "workers": { "<name>": "./src/<name>.worker.ts" } }`),
   * which the builds emit and ship. Sized by WORKER_THREADS; threads start on first use; closed with the plugin.
   * @example const hasher = scope.workers('hash-file', { from: import.meta.url });
   */
  workers(name: string, options: PluginWorkersOptions): PluginWorkerPool;
  /** Adds a readiness check (e.g. "the database answers"), polled by `/readyz`. */
  readiness(check: () => ReadyState | Promise<ReadyState>): void;
}

/** A plugin: a plain value made by a function, composed explicitly by an app. */
export interface Plugin<Schema extends z.ZodObject | undefined = z.ZodObject | undefined> {
  readonly name: string;
  readonly version?: string;
  /** Names of plugins that must be set up first; their services become visible. */
  readonly dependsOn?: readonly string[];
  /** The configuration this plugin reads (keys are environment variable names). */
  readonly config?: Schema;
  /** Prefix for every tool, prompt and resource name (set by `mount`). */
  readonly prefix?: string;
  setup(
    scope: PluginScope<Schema extends z.ZodObject ? z.output<Schema> : Record<string, never>>,
  ): void | Promise<void>;
}

/**
 * Declares a plugin. Pure: nothing happens until a server starts it.
 * @example
 * export const greeter = () => definePlugin({
 *   name: 'greeter',
 *   setup(scope) {
 *     scope.tools.add({ name: 'greet', description: 'Says hello', input: z.object({ who: z.string() }),
 *       handler: ({ who }) => `Hello, ${who}!` });
 *   },
 * });
 */
export function definePlugin<Schema extends z.ZodObject | undefined = undefined>(
  plugin: Plugin<Schema>,
): Plugin<Schema> {
  if (!/^[a-z][a-z0-9._-]*$/i.test(plugin.name))
    throw new TypeError(
      `plugin name ${JSON.stringify(plugin.name)} must start with a letter and use letters, digits, ".", "_" or "-"`,
    );
  if (typeof plugin.setup !== 'function') throw new TypeError(`plugin "${plugin.name}" needs a setup function`);
  return Object.freeze({ ...plugin });
}

/**
 * The same plugin with every tool and prompt name prefixed `<prefix>_` and
 * every resource URI prefixed `<scheme>://<prefix>/`, to resolve name clashes.
 * @example mount(search(), { prefix: 'docs' })   // tool "search" becomes "docs_search"
 */
export function mount<S extends z.ZodObject | undefined>(
  plugin: Plugin<S>,
  options: { prefix: string; name?: string },
): Plugin<S> {
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(options.prefix))
    throw new TypeError(`mount prefix ${JSON.stringify(options.prefix)} must be letters, digits and "-"`);
  const prefix = plugin.prefix ? `${options.prefix}_${plugin.prefix}` : options.prefix;
  return Object.freeze({ ...plugin, name: options.name ?? `${options.prefix}/${plugin.name}`, prefix });
}

export function prefixName(prefix: string | undefined, name: string): string {
  return prefix ? `${prefix}_${name}` : name;
}

export function prefixUri(prefix: string | undefined, uri: string): string {
  // file: URIs name real paths; a prefix would point them elsewhere.
  if (!prefix || uri.startsWith('file:')) return uri;
  const match = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(uri);
  return match ? `${match[1]}://${prefix}/${match[2]!.replace(/^\//, '')}` : `${prefix}/${uri}`;
}

export type AnyPlugin = Plugin<z.ZodObject | undefined>;
export type { AnyToolSpec };
