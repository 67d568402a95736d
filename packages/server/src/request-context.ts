import {
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  type ClientCapabilities,
  type CreateMessageRequest,
  type CreateMessageResult,
  type ElicitResult,
  type LoggingLevel,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { CancelScope } from '@trellis/concurrency';
import { ToolError } from '@trellis/tools';
import type { ProtocolEra, RequestContext } from './context.js';
import type { Logger } from './logging.js';
import type { OperationRequest, PipelineHost, ReplyChannel } from './pipeline.js';
import type { ServiceKey } from './services.js';

/** Severity order of MCP log levels. */
export const LOG_SEVERITY: Readonly<Record<LoggingLevel, number>> = {
  debug: 0,
  info: 1,
  notice: 2,
  warning: 3,
  error: 4,
  critical: 5,
  alert: 6,
  emergency: 7,
};

/**
 * The one log-level policy: whether a client log line at `level` goes out for
 * this request. 2026-07-28: only when the request's envelope asked for logs,
 * at or above that level. Older protocol: at or above the level the client
 * set with `logging/setLevel` on the connection (none set: every level).
 */
export function wantsLog(request: OperationRequest, level: LoggingLevel): boolean {
  if (request.era === 'modern' || request.envelope !== undefined) {
    const wanted = request.envelope?.[LOG_LEVEL_META_KEY] as LoggingLevel | undefined;
    return wanted !== undefined && LOG_SEVERITY[level] >= (LOG_SEVERITY[wanted] ?? 0);
  }
  const set = request.connection.logLevel;
  return set === undefined || LOG_SEVERITY[level] >= LOG_SEVERITY[set];
}

/**
 * A handler's context, made from the pipeline's request value and reply
 * channel. A class, not an object literal of closures: it is made for every
 * request, and one allocation with shared prototype methods keeps the
 * per-request garbage small. The logger child, the signal and the task group
 * are made only when a handler uses them.
 */
class HandlerContext implements RequestContext {
  readonly #host: PipelineHost;
  readonly #request: OperationRequest;
  readonly #channel: ReplyChannel;
  /** The request's signal and task group, made on first use. */
  readonly #scope: CancelScope;
  /** The plugin that owns the target (its `dependsOn` decides which services it sees). */
  readonly #owner: string | undefined;
  #log: Logger | undefined;
  #capabilities: ClientCapabilities | undefined | null = null;

  // Fields of its own rather than one inputs object: one allocation less per request.
  constructor(
    host: PipelineHost,
    request: OperationRequest,
    channel: ReplyChannel,
    scope: CancelScope,
    owner: string | undefined,
  ) {
    this.#host = host;
    this.#request = request;
    this.#channel = channel;
    this.#scope = scope;
    this.#owner = owner;
  }

  get requestId(): string | number {
    return this.#request.id;
  }
  get method(): string {
    return this.#request.method;
  }
  get sessionId(): string | undefined {
    const request = this.#request;
    return request.connection.sessionId ?? request.sdk?.sessionId;
  }
  get era(): ProtocolEra {
    return this.#request.era;
  }
  get signal(): AbortSignal {
    return this.#scope.signal;
  }
  get group(): RequestContext['group'] {
    return this.#scope.group;
  }
  get sdk(): ServerContext | undefined {
    return this.#request.sdk;
  }
  get meta(): Readonly<Record<string, unknown>> | undefined {
    return this.#request.meta;
  }
  get config(): Readonly<Record<string, unknown>> {
    return this.#host.config;
  }
  get log(): Logger {
    if (!this.#log) {
      const request = this.#request;
      const session = this.sessionId;
      this.#log = this.#host.logger.child({
        reqId: request.id,
        method: request.method,
        ...(session !== undefined && { session }),
        ...(request.target !== undefined && { target: request.target }),
      });
    }
    return this.#log;
  }
  get clientCapabilities(): ClientCapabilities | undefined {
    if (this.#capabilities === null) {
      const request = this.#request;
      this.#capabilities =
        (request.envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined) ??
        request.connection.clientCapabilities ??
        request.connection.protocol?.getClientCapabilities();
    }
    return this.#capabilities;
  }
  get inputResponses(): Record<string, unknown> | undefined {
    return this.#request.inputResponses;
  }
  get auth(): RequestContext['auth'] {
    const info = this.#request.auth;
    return info
      ? { token: info.token, clientId: info.clientId, scopes: info.scopes, ...(info.extra && { extra: info.extra }) }
      : undefined;
  }

  narrowed(scope: CancelScope): HandlerContext {
    return new HandlerContext(this.#host, this.#request, this.#channel, scope, this.#owner);
  }

  settings(): Record<string, unknown> {
    return this.#host.settings();
  }
  requestState<T>(): T | undefined {
    return this.#request.requestState?.() as T | undefined;
  }
  mintRequestState(payload: unknown): Promise<string> {
    return this.#host.mintRequestState(payload);
  }
  service<T>(key: ServiceKey<T>): T {
    return this.#host.serviceFor(this.#owner, key);
  }
  async progress(progress: number, total?: number, message?: string): Promise<void> {
    const request = this.#request;
    const channel = this.#channel;
    const scope = this.#scope;
    const token = request.meta?.progressToken;
    if (token === undefined || scope.aborted) return;
    await channel.notify({
      method: 'notifications/progress',
      params: {
        progressToken: token,
        progress,
        ...(total !== undefined && { total }),
        ...(message !== undefined && { message }),
      },
    });
  }
  async clientLog(level: LoggingLevel, data: unknown): Promise<void> {
    const request = this.#request;
    const channel = this.#channel;
    const scope = this.#scope;
    if (scope.aborted || !wantsLog(request, level)) return;
    await channel.notify({ method: 'notifications/message', params: { level, data } });
  }
  async elicit(params: Parameters<RequestContext['elicit']>[0]): Promise<ElicitResult> {
    const ask = this.#askChannel('elicitation', 'ctx.elicit()');
    if (!this.clientCapabilities?.elicitation)
      throw new ToolError(
        'This tool needs to ask the user, but the client did not declare the elicitation capability.',
      );
    return ask.elicit({ mode: 'form', ...params } as never, this.#scope.signal);
  }
  async sample(params: CreateMessageRequest['params']): Promise<CreateMessageResult> {
    const ask = this.#askChannel('sampling', 'ctx.sample()');
    if (!this.clientCapabilities?.sampling)
      throw new ToolError(
        'This tool needs the client to run a model, but the client did not declare the sampling capability.',
      );
    return ask.sample(params, this.#scope.signal);
  }

  #askChannel(what: string, call: string): NonNullable<ReplyChannel['ask']> {
    const request = this.#request;
    const channel = this.#channel;
    const host = this.#host;
    if (request.method === 'tools/call' && !host.tools.isInteractive(request.target!)) {
      throw new ToolError(
        `Tool "${request.target}" called ${call} but is not registered with \`interactive: true\`; tools that ask the client must declare it (they are then served where the client can be asked). This is a bug in the server.`,
      );
    }
    const version = request.envelope?.[PROTOCOL_VERSION_META_KEY];
    if (request.era === 'modern' || version !== undefined) {
      throw new ToolError(
        `This request uses protocol ${String(version ?? '2026-07-28')}, which has no server-to-client ${what} requests; the tool must return inputRequired(...) instead.`,
      );
    }
    if (!channel.ask)
      throw new ToolError(`This request was received where the server cannot ask the client (no ${what} channel).`);
    return channel.ask;
  }
}

/** Builds a handler's context. */
export function buildRequestContext(
  host: PipelineHost,
  request: OperationRequest,
  channel: ReplyChannel,
  scope: CancelScope,
  owner: string | undefined,
): RequestContext {
  return new HandlerContext(host, request, channel, scope, owner);
}

/** The same request's context for a narrower unit of work (a tool call with its own deadline). */
export function narrowContext(ctx: RequestContext, scope: CancelScope): RequestContext {
  if (!(ctx instanceof HandlerContext))
    throw new TypeError('narrowContext needs a context made by buildRequestContext');
  return ctx.narrowed(scope);
}
