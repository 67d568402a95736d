import { randomBytes } from 'node:crypto';
import {
  createRequestStateCodec,
  InMemoryServerEventBus,
  type Server,
  type ServerCapabilities,
  type ServerEvent,
  type ServerEventBus,
} from '@modelcontextprotocol/server';
import { loadConfig, mergeConfigSchemas, redact } from '@trellis/config';
import { BackgroundTasks, Semaphore } from '@trellis/concurrency';
import { PromptRegistry } from '@trellis/prompts';
import { ResourceRegistry } from '@trellis/resources';
import { ToolRegistry } from '@trellis/tools';
import type { z } from 'zod';
import type { ProtocolEra, RequestContext } from './context.js';
import { coreConfigSchema, type CoreConfig } from './core-config.js';
import { StartupError } from './errors.js';
import { changeOfEvent, type ServerChange } from './changes.js';
import { AbortReasons, Connection, ShutdownCalls } from './connection.js';
import { installHandlers } from './handlers.js';
import { orderPlugins, withinDeadline } from './lifecycle.js';
import { createLogger, type Logger } from './logging.js';
import type { Middleware } from './middleware.js';
import {
  observeRequest,
  type OperationObserver,
  type PipelineHost,
  type RequestObservation,
  type ServedOperation,
} from './pipeline.js';
import { ProtocolServer } from './protocol-server.js';
import type { ServiceKey } from './services.js';
import { CoreServices, type SharedSessionStore } from './seams.js';
import { createScope, type PluginRecord } from './scope.js';
import type { AnyPlugin, ReadyState } from './plugin.js';
import type { CreateServerOptions } from './server-options.js';
import { settingsPlugin } from './settings.js';
import type { TaskCalls } from './task-calls.js';
import type { TaskChange, TaskStore } from '@trellis/tasks';

export type { ServerChange } from './changes.js';

export interface Readiness {
  ready: boolean;
  checks: { plugin: string; ok: boolean; detail?: string }[];
}

export interface CloseOptions {
  /** How long in-flight requests may run before their signals are aborted. */
  graceMs?: number;
  /** Deadline for each plugin's close. */
  pluginCloseMs?: number;
}

type State = 'new' | 'starting' | 'running' | 'closing' | 'closed';

interface StateCodec {
  verify(state: string): unknown;
  mint(payload: unknown): Promise<string>;
}

/**
 * The composed server: registries built once and shared, plugins set up in
 * dependency order, and a factory for the SDK protocol objects that serve
 * sessions and requests.
 */
export class TrellisServer implements PipelineHost {
  readonly name: string;
  readonly version: string;
  readonly tools = new ToolRegistry<RequestContext>();
  readonly resources = new ResourceRegistry<RequestContext>();
  readonly prompts = new PromptRegistry<RequestContext>();
  readonly #globalMiddleware: Middleware[] = [];
  readonly #ownerMiddleware = new Map<string, Middleware[]>();
  readonly #services = new Map<string, { owner: string; value: unknown }>();
  /** Each plugin's `dependsOn`: whose services it may see. */
  readonly #visible = new Map<string, ReadonlySet<string>>();
  readonly #observers: OperationObserver[] = [];
  readonly #taskObservers = new Set<(change: TaskChange) => void>();
  readonly #options: CreateServerOptions;
  readonly #records: PluginRecord[] = [];
  readonly #shutdown = new AbortController();
  /** Calls that follow shutdown through one listener (fast-path calls: see `Connection.track`). */
  readonly shutdownCalls = new ShutdownCalls(this.#shutdown.signal);
  readonly #changeListeners = new Set<(change: ServerChange) => void>();
  readonly #live = new Set<Server>();
  /** The change feed (see `CoreServices.changeBus`): in memory unless a plugin provides one. */
  #bus: ServerEventBus = new InMemoryServerEventBus();
  #stopBus: (() => void) | undefined;
  #state: State = 'new';
  #config: Readonly<Record<string, unknown>> | undefined;
  #configSchema: z.ZodObject | undefined;
  #logger: Logger | undefined;
  #background: BackgroundTasks | undefined;
  #callLimiter: Semaphore | undefined;
  #queueTimeoutMs = 30_000;
  #requestState: StateCodec | undefined;
  #inflight = 0;
  #idleWaiters: (() => void)[] = [];
  #tasks: Promise<TaskCalls> | undefined;
  #tasksLoaded: TaskCalls | undefined;
  /** Each protocol object's connection (to install the Tasks extension on connections already open when it loads). */
  readonly #connectionOf = new WeakMap<Server, Connection>();

  constructor(options: CreateServerOptions) {
    this.#options = options;
    this.name = options.name;
    this.version = options.version;
    const announce = (kind: 'tools' | 'prompts' | 'resources') => () => this.#emit({ kind });
    this.tools.onChange(announce('tools'));
    this.prompts.onChange(announce('prompts'));
    this.resources.onListChanged(announce('resources'));
    this.resources.onUpdated((uri, subscribers) => this.#emit({ kind: 'resource-updated', uri, subscribers }));
  }

  /** Who answers: the identity stamped on 2026-07-28 results. */
  get serverInfo(): { name: string; version: string; title?: string } {
    return {
      name: this.name,
      version: this.version,
      ...(this.#options.title !== undefined && { title: this.#options.title }),
    };
  }

  /** Every plugin, the settings resource included, in the order they set up. */
  get plugins(): readonly AnyPlugin[] {
    const plugins = [...this.#options.plugins];
    if (this.#options.settingsResource !== false) plugins.push(settingsPlugin(() => this.settings()));
    return plugins;
  }

  /** The configuration schema of the whole app: the core's, the layers', each plugin's. */
  configSchema(): z.ZodObject {
    this.#configSchema ??= mergeConfigSchemas([
      { owner: 'server', schema: coreConfigSchema },
      ...(this.#options.configSchemas ?? []),
      ...this.plugins.filter((p) => p.config).map((p) => ({ owner: `plugin "${p.name}"`, schema: p.config! })),
    ]).schema;
    return this.#configSchema;
  }

  get config(): Readonly<Record<string, unknown>> {
    if (!this.#config)
      throw new StartupError('SERVER_STATE', 'the configuration is read when the server starts; call start() first');
    return this.#config;
  }

  get logger(): Logger {
    if (!this.#logger)
      throw new StartupError('SERVER_STATE', 'the logger exists once the server starts; call start() first');
    return this.#logger;
  }

  get background(): BackgroundTasks {
    if (!this.#background) throw new StartupError('SERVER_STATE', 'call start() first');
    return this.#background;
  }

  /** Aborts when the server begins to abort in-flight work at shutdown. */
  get shutdownSignal(): AbortSignal {
    return this.#shutdown.signal;
  }

  get state(): State {
    return this.#state;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** The configuration with secrets redacted, as shown to clients and logs. */
  settings(): Record<string, unknown> {
    return redact(this.config, this.configSchema());
  }

  /**
   * Loads the configuration (one ConfigError listing every problem), then sets
   * up every plugin in dependency order. A failing plugin stops the start, and
   * the plugins already set up are closed again.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new')
      throw new StartupError('SERVER_STATE', `start() was already called (state: ${this.#state})`);
    this.#state = 'starting';
    const ordered = orderPlugins(this.plugins);
    const config = loadConfig(this.configSchema(), this.#options.configSources) as Readonly<Record<string, unknown>>;
    this.#config = config;
    const core = config as unknown as CoreConfig;
    this.#logger =
      this.#options.logger ??
      createLogger({ level: core.LOG_LEVEL, pretty: core.LOG_FORMAT === 'pretty', name: this.name });
    this.#background = new BackgroundTasks({ logger: this.#logger });
    this.#callLimiter = new Semaphore(this.#options.limits?.maxConcurrentCalls ?? core.MAX_CONCURRENT_CALLS);
    this.#queueTimeoutMs = this.#options.limits?.queueTimeoutMs ?? core.QUEUE_TIMEOUT_MS;
    const codec = createRequestStateCodec({
      key: core.REQUEST_STATE_SECRET ?? randomBytes(32).toString('base64url'),
      ttlSeconds: 900,
    });
    this.#requestState = codec as unknown as StateCodec;

    const setupMs = this.#options.pluginSetupMs ?? 30_000;
    if (!(setupMs > 0))
      throw new TypeError(`option pluginSetupMs must be a positive number of milliseconds, got ${String(setupMs)}`);
    for (const plugin of ordered) this.#visible.set(plugin.name, new Set(plugin.dependsOn ?? []));
    for (const plugin of ordered) {
      const record: PluginRecord = { plugin, closers: [], checks: [] };
      this.#records.push(record);
      try {
        const scope = createScope(this, record, config, this.#logger.child({ plugin: plugin.name }));
        const outcome = await withinDeadline(() => plugin.setup(scope as never), setupMs);
        if (!outcome.finished) {
          throw new StartupError(
            'PLUGIN_SETUP_TIMEOUT',
            `plugin "${plugin.name}" did not finish setting up within ${setupMs} ms (a connection that never answers?)`,
            plugin.name,
          );
        }
      } catch (error) {
        await this.#closePlugins(5_000);
        this.#state = 'closed';
        if (error instanceof StartupError) throw error;
        throw new StartupError(
          'PLUGIN_SETUP_FAILED',
          `plugin "${plugin.name}" failed to set up: ${error instanceof Error ? error.message : String(error)}`,
          plugin.name,
          { cause: error },
        );
      }
    }
    const bus = this.#services.get(CoreServices.changeBus.id);
    if (bus) this.#bus = bus.value as ServerEventBus;
    this.#stopBus = this.#bus.subscribe((event) => this.#deliver(event));
    // The tasks extension is loaded only when some tool may run as a task.
    if (this.tools.hasTaskTools) await this.taskCalls();
    this.#state = 'running';
    this.#logger.debug({ plugins: ordered.map((p) => p.name), tools: this.tools.size }, 'server started');
  }

  /**
   * The Tasks extension of this server, loaded on first need (a tool that
   * declares task support): `@trellis/tasks` is a separate chunk that servers
   * without such tools never load.
   */
  taskCalls(): Promise<TaskCalls> {
    this.#tasks ??= import('./task-calls.js').then(async ({ TaskCalls }) => {
      const provided = this.#services.get(CoreServices.taskStore.id)?.value as TaskStore | undefined;
      const options = this.#options.tasks ?? {};
      const loaded = await TaskCalls.load(
        this,
        options.store || !provided ? options : { ...options, store: provided },
        (this.config as unknown as CoreConfig).MAX_LIVE_TASKS,
      );
      this.#tasksLoaded = loaded;
      for (const server of this.#live) {
        const connection = this.#connectionOf.get(server);
        if (!connection) continue;
        try {
          loaded.install(server, connection);
        } catch (error) {
          // A connection opened before the first task tool appeared keeps serving without the extension.
          this.#logger?.debug({ err: error }, 'tasks extension not installed on a live connection');
        }
      }
      return loaded;
    });
    return this.#tasks;
  }

  /** The capabilities this server advertises. */
  capabilities(): ServerCapabilities {
    return {
      tools: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      completions: {},
      logging: {},
      ...this.#options.capabilities,
    };
  }

  /**
   * A new SDK protocol object wired to the shared registries: one per
   * older-protocol session, per stdio connection, or per 2026-07-28 HTTP request.
   * Only its handler table is built; no registry is rebuilt.
   */
  createProtocolServer(options: { era?: ProtocolEra; track?: boolean; connection?: Connection } = {}): Server {
    if (this.#state !== 'running')
      throw new StartupError('SERVER_STATE', `the server is ${this.#state}; it serves requests only while running`);
    const era = options.era ?? 'legacy';
    const connection = options.connection ?? new Connection({ transport: 'http', era });
    const server = new ProtocolServer(
      {
        name: this.name,
        version: this.version,
        ...(this.#options.title !== undefined && { title: this.#options.title }),
      },
      {
        capabilities: this.capabilities(),
        ...(this.#options.instructions !== undefined && { instructions: this.#options.instructions }),
        ...(this.#options.cacheHints && { cacheHints: this.#options.cacheHints }),
        requestState: { verify: (state: string) => this.#requestState!.verify(state) },
      },
      { host: this, connection },
    );
    connection.era = era;
    connection.protocol = server;
    connection.served = false;
    const detach = installHandlers(server, this, era, connection);
    this.#tasksLoaded?.install(server, connection);
    this.#connectionOf.set(server, connection);
    if (options.track !== false) this.#live.add(server);
    const previous = server.onclose;
    server.onclose = () => {
      this.#tasksLoaded?.connectionClosed(connection);
      this.#live.delete(server);
      if (connection.protocol === server) connection.protocol = undefined;
      detach();
      previous?.();
    };
    return server;
  }

  /**
   * The factory the SDK's serving entries (`createMcpHandler`, `serveStdio`)
   * call for each serving unit. Older-protocol units are tracked so that list
   * changes and resource updates reach them.
   */
  protocolFactory(): (unit: { era: ProtocolEra }) => Server {
    return (unit) => this.createProtocolServer({ era: unit.era, track: unit.era === 'legacy' });
  }

  /**
   * Registers an observer told of every request the server serves — the
   * pipeline's operations and the protocol's own (`initialize`, `ping`,
   * `server/discover`, `tasks/*`, ...) — with its method, target, request id,
   * era, session, transport and `_meta`, and of how it ended (outcome,
   * JSON-RPC code, result, queue wait, duration); its `run` can wrap the
   * request's work (middleware and handler) in a context of its own. Returns
   * its removal. With none registered nothing is measured.
   */
  observe(observer: OperationObserver): () => void {
    this.#observers.push(observer);
    return () => {
      const at = this.#observers.indexOf(observer);
      if (at !== -1) this.#observers.splice(at, 1);
    };
  }

  /**
   * Registers a listener told of every task status change this server applies
   * (the Tasks extension: created `working`, `input_required`, resumed,
   * `completed`, `failed`, `cancelled`, `discarded`, `expired`), in the async
   * context of what caused it. Returns its removal.
   */
  observeTasks(listener: (change: TaskChange) => void): () => void {
    this.#taskObservers.add(listener);
    return () => this.#taskObservers.delete(listener);
  }

  /** @internal A task's status changed (the Tasks extension reports it). */
  taskChanged(change: TaskChange): void {
    for (const listener of this.#taskObservers) {
      try {
        listener(change);
      } catch (error) {
        this.#logger?.warn({ err: error }, 'a task observer failed');
      }
    }
  }

  /**
   * @internal A request a transport serves itself (the SDK entry's
   * `subscriptions/listen`), reported to the observers; `undefined` when none.
   */
  observeRequest(operation: Omit<ServedOperation, 'startedAt'>): RequestObservation | undefined {
    return observeRequest(this, operation);
  }

  /** @internal The registered observers (read by the pipeline). */
  get observers(): readonly OperationObserver[] {
    return this.#observers;
  }

  /** @internal Middleware around an operation on `owner`'s target: server-wide outside, the owner's inside. */
  middlewareFor(owner: string | undefined): readonly Middleware[] {
    const own = owner ? this.#ownerMiddleware.get(owner) : undefined;
    if (!own || own.length === 0) return this.#globalMiddleware;
    return [...this.#globalMiddleware, ...own];
  }

  /** @internal Adds middleware: server-wide (`owner` undefined) or around one plugin's operations. */
  addMiddleware(owner: string | undefined, middleware: Middleware): void {
    if (owner === undefined) {
      this.#globalMiddleware.push(middleware);
      return;
    }
    const list = this.#ownerMiddleware.get(owner) ?? [];
    list.push(middleware);
    this.#ownerMiddleware.set(owner, list);
  }

  /** @internal Offers a service; a second provider of the same key fails the start. */
  provideService(owner: string, key: ServiceKey<unknown>, value: unknown): void {
    const existing = this.#services.get(key.id);
    if (existing)
      throw new StartupError(
        'SERVICE_DUPLICATE',
        `service "${key.id}" is provided by both "${existing.owner}" and "${owner}"`,
        owner,
      );
    this.#services.set(key.id, { owner, value });
  }

  /**
   * A service as plugin `owner` may see it: its own, or one of a plugin it
   * lists in `dependsOn` (the same rule at set-up and at request time). With
   * no owner (a server-wide operation such as a listing) any service is visible.
   */
  serviceFor<T>(owner: string | undefined, key: ServiceKey<T>): T {
    const entry = this.#services.get(key.id);
    const who = owner === undefined ? 'the server' : `plugin "${owner}"`;
    if (!entry)
      throw new StartupError(
        'SERVICE_MISSING',
        `${who} asked for service "${key.id}", which no plugin provides`,
        owner,
      );
    if (owner !== undefined && entry.owner !== owner && !this.#visible.get(owner)?.has(entry.owner)) {
      throw new StartupError(
        'SERVICE_MISSING',
        `${who} uses service "${key.id}" of plugin "${entry.owner}" without listing it in dependsOn`,
        owner,
      );
    }
    return entry.value as T;
  }

  /** Every provided service, by key id (for tests and diagnostics). */
  get services(): ReadonlyMap<string, { readonly owner: string; readonly value: unknown }> {
    return this.#services;
  }

  /** Mints a signed `requestState` for multi-round-trip results. */
  mintRequestState(payload: unknown): Promise<string> {
    return this.#requestState!.mint(payload);
  }

  /** Verifies a `requestState` this server minted and returns its payload; tampered or expired state throws. */
  async verifyRequestState(state: string): Promise<unknown> {
    return this.#requestState!.verify(state);
  }

  /** Protocol objects currently serving sessions or connections. */
  get liveProtocolServers(): ReadonlySet<Server> {
    return this.#live;
  }

  /**
   * The change feed's bus: the HTTP transport hands it to the SDK's handler so
   * that `subscriptions/listen` streams hear every change (of every instance,
   * when a fleet provides the bus).
   */
  get changeBus(): ServerEventBus {
    return this.#bus;
  }

  /** The shared older-protocol session store a plugin provided (see `CoreServices.sessionStore`), if any. */
  get sessionStore(): SharedSessionStore | undefined {
    return this.#services.get(CoreServices.sessionStore.id)?.value as SharedSessionStore | undefined;
  }

  /** Listens for list changes and resource updates (transports fan them out). */
  onChange(listener: (change: ServerChange) => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** Readiness of every plugin that reports it. */
  async ready(): Promise<Readiness> {
    if (this.#state !== 'running')
      return { ready: false, checks: [{ plugin: 'server', ok: false, detail: this.#state }] };
    const checks = await Promise.all(
      this.#records.flatMap((record) =>
        record.checks.map(async (check) => {
          try {
            const state: ReadyState = await check();
            return {
              plugin: record.plugin.name,
              ok: state.ok,
              ...(state.detail !== undefined && { detail: state.detail }),
            };
          } catch (error) {
            return {
              plugin: record.plugin.name,
              ok: false,
              detail: error instanceof Error ? error.message : String(error),
            };
          }
        }),
      ),
    );
    return { ready: checks.every((c) => c.ok), checks };
  }

  /**
   * Counts one request for graceful shutdown; `leaveRequest()` exactly once
   * when it ends (a pair of calls, not a closure per request).
   */
  enterRequest(): void {
    this.#inflight += 1;
  }

  /** The request `enterRequest()` counted has ended. */
  leaveRequest(): void {
    this.#inflight -= 1;
    if (this.#inflight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  get callLimiter(): Semaphore {
    return this.#callLimiter!;
  }

  get queueTimeoutMs(): number {
    return this.#queueTimeoutMs;
  }

  /**
   * Graceful close: lets in-flight requests finish for `graceMs`, aborts the
   * rest through their signals, drains background tasks, then closes plugins
   * in reverse order, each under a deadline.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    const wasRunning = this.#state === 'running';
    this.#state = 'closing';
    const graceMs = options.graceMs ?? 10_000;
    if (wasRunning && this.#inflight > 0) {
      this.#logger?.info({ inflight: this.#inflight, graceMs }, 'waiting for in-flight requests');
      await withinDeadline(() => this.#idle(), graceMs);
    }
    if (this.#inflight > 0)
      this.#logger?.warn({ inflight: this.#inflight }, 'aborting in-flight requests after the grace period');
    // Tasks still running (or waiting for input) are cancelled with a reason tasks/get shows, before their signals abort.
    await this.#tasksLoaded?.runtime.shutdown('the server shut down before the task finished');
    this.#shutdown.abort(new Error(AbortReasons.shutdown));
    await withinDeadline(() => this.#idle(), 2_000);
    // Transports write the answers of aborted calls asynchronously: let them go out before closing.
    // (A held timer: on stdio, once stdin has closed, an unref'd one let the process end here, before any plugin closed.)
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const server of [...this.#live]) await server.close().catch(() => undefined);
    await this.#background?.drain({ timeoutMs: Math.min(graceMs, 5_000) });
    this.#stopBus?.();
    await this.#closePlugins(options.pluginCloseMs ?? 5_000);
    this.#state = 'closed';
    this.#logger?.flush?.();
  }

  #idle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #closePlugins(deadlineMs: number): Promise<void> {
    for (const record of [...this.#records].reverse()) {
      for (const close of [...record.closers].reverse()) {
        try {
          const outcome = await withinDeadline(close, deadlineMs);
          if (!outcome.finished)
            this.#logger?.warn({ plugin: record.plugin.name, deadlineMs }, 'plugin close passed its deadline');
        } catch (error) {
          this.#logger?.error({ plugin: record.plugin.name, err: error }, 'plugin close failed');
        }
      }
    }
    this.#records.length = 0;
  }

  /** A change made here goes out on the bus; what listeners hear is what comes back from it. */
  #emit(change: ServerChange): void {
    if (this.#state !== 'running') return;
    this.#bus.publish(
      change.kind === 'resource-updated'
        ? { kind: 'resource_updated', uri: change.uri }
        : { kind: `${change.kind}_list_changed` },
    );
  }

  /** A change from the bus (made here or, with a fleet, on another instance), to this process's listeners. */
  #deliver(event: ServerEvent): void {
    if (this.#state !== 'running') return;
    // Who subscribed is known only here: each instance answers for its own subscribers.
    const change = changeOfEvent(event, (uri) => this.resources.subscribersOf(uri));
    for (const listener of this.#changeListeners) {
      try {
        listener(change);
      } catch (error) {
        this.#logger?.warn({ err: error }, 'a change listener failed');
      }
    }
  }
}

/**
 * Composes plugins into one server. Nothing runs until `start()`.
 * @example
 * const server = createServer({ name: 'demo', version: '1.0.0', plugins: [greeter()] });
 * await server.start();
 */
export function createServer(options: CreateServerOptions): TrellisServer {
  return new TrellisServer(options);
}
