import {
  CLIENT_CAPABILITIES_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  type ClientCapabilities,
  type CreateMessageRequest,
  type CreateMessageResult,
  type ElicitResult,
  type LoggingLevel,
  type Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { CancelScope } from '@trellis/concurrency';
import { ToolError } from '@trellis/tools';
import type { ProtocolEra, RequestContext } from './context.js';
import type { ServiceKey } from './services.js';
import type { Logger } from './logging.js';
import type { TrellisServer } from './server.js';

export interface ContextInputs {
  core: TrellisServer;
  protocol: Server;
  era: ProtocolEra;
  sdk: ServerContext;
  /** The request's signal and task group, made on first use. */
  scope: CancelScope;
  /** Extra fields for the request logger (tool name, resource URI). */
  logFields?: Record<string, unknown>;
}

/** The reserved `io.modelcontextprotocol/*` keys of a 2026-07-28 request (the SDK types them loosely). */
function envelopeOf(sdk: ServerContext): Record<string, unknown> | undefined {
  return sdk.mcpReq.envelope as Record<string, unknown> | undefined;
}

/** Capabilities from the request's envelope (2026-07-28) or the session's initialize. */
export function clientCapabilitiesOf(sdk: ServerContext, protocol: Server): ClientCapabilities | undefined {
  return (envelopeOf(sdk)?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined) ?? protocol.getClientCapabilities();
}

/**
 * A handler's context. A class, not an object literal of closures: it is made
 * for every request, and one allocation with shared prototype methods keeps
 * the per-request garbage small. The logger child, the signal and the task
 * group are made only when a handler uses them.
 */
class HandlerContext implements RequestContext {
  readonly #inputs: ContextInputs;
  #log: Logger | undefined;
  #capabilities: ClientCapabilities | undefined | null = null;

  constructor(inputs: ContextInputs) {
    this.#inputs = inputs;
  }

  get requestId(): string | number {
    return this.#inputs.sdk.mcpReq.id;
  }
  get method(): string {
    return this.#inputs.sdk.mcpReq.method;
  }
  get sessionId(): string | undefined {
    return this.#inputs.sdk.sessionId;
  }
  get era(): ProtocolEra {
    return this.#inputs.era;
  }
  get signal(): AbortSignal {
    return this.#inputs.scope.signal;
  }
  get group(): RequestContext['group'] {
    return this.#inputs.scope.group;
  }
  get sdk(): ServerContext {
    return this.#inputs.sdk;
  }
  get config(): Readonly<Record<string, unknown>> {
    return this.#inputs.core.config;
  }
  get log(): Logger {
    if (!this.#log) {
      const { sdk, logFields } = this.#inputs;
      this.#log = this.#inputs.core.logger.child({
        reqId: sdk.mcpReq.id,
        method: sdk.mcpReq.method,
        ...(sdk.sessionId !== undefined && { session: sdk.sessionId }),
        ...logFields,
      });
    }
    return this.#log;
  }
  get clientCapabilities(): ClientCapabilities | undefined {
    if (this.#capabilities === null) this.#capabilities = clientCapabilitiesOf(this.#inputs.sdk, this.#inputs.protocol);
    return this.#capabilities;
  }
  get inputResponses(): Record<string, unknown> | undefined {
    return this.#inputs.sdk.mcpReq.inputResponses;
  }
  get auth(): RequestContext['auth'] {
    const info = this.#inputs.sdk.http?.authInfo;
    return info ? { token: info.token, clientId: info.clientId, scopes: info.scopes, ...(info.extra && { extra: info.extra }) } : undefined;
  }

  narrowed(scope: ContextInputs['scope']): HandlerContext {
    return new HandlerContext({ ...this.#inputs, scope });
  }

  settings(): Record<string, unknown> {
    return this.#inputs.core.settings();
  }
  requestState<T>(): T | undefined {
    return this.#inputs.sdk.mcpReq.requestState<T>();
  }
  mintRequestState(payload: unknown): Promise<string> {
    return this.#inputs.core.mintRequestState(payload);
  }
  service<T>(key: ServiceKey<T>): T {
    const entry = this.#inputs.core.services.get(key.id);
    if (!entry) throw new Error(`no plugin provides service "${key.id}"`);
    return entry.value as T;
  }
  async progress(progress: number, total?: number, message?: string): Promise<void> {
    const { sdk, scope } = this.#inputs;
    const token = sdk.mcpReq._meta?.progressToken;
    if (token === undefined || scope.aborted) return;
    await sdk.mcpReq.notify({
      method: 'notifications/progress',
      params: { progressToken: token, progress, ...(total !== undefined && { total }), ...(message !== undefined && { message }) },
    });
  }
  async clientLog(level: LoggingLevel, data: unknown): Promise<void> {
    if (this.#inputs.scope.aborted) return;
    await this.#inputs.sdk.mcpReq.log(level, data);
  }
  async elicit(params: Parameters<RequestContext['elicit']>[0]): Promise<ElicitResult> {
    const { era, sdk, scope } = this.#inputs;
    requirePushChannel(era, sdk, 'elicitation');
    if (!this.clientCapabilities?.elicitation) throw new ToolError('This tool needs to ask the user, but the client did not declare the elicitation capability.');
    return sdk.mcpReq.elicitInput({ mode: 'form', ...params } as never, { signal: scope.signal });
  }
  async sample(params: CreateMessageRequest['params']): Promise<CreateMessageResult> {
    const { era, sdk, scope } = this.#inputs;
    requirePushChannel(era, sdk, 'sampling');
    if (!this.clientCapabilities?.sampling) throw new ToolError('This tool needs the client to run a model, but the client did not declare the sampling capability.');
    return (await sdk.mcpReq.requestSampling(params, { signal: scope.signal })) as CreateMessageResult;
  }
}

/** Builds a handler's context. */
export function buildRequestContext(inputs: ContextInputs): RequestContext {
  return new HandlerContext(inputs);
}

/** The same request's context for a narrower unit of work (a tool call with its own deadline). */
export function narrowContext(ctx: RequestContext, scope: ContextInputs['scope']): RequestContext {
  if (!(ctx instanceof HandlerContext)) throw new TypeError('narrowContext needs a context made by buildRequestContext');
  return ctx.narrowed(scope);
}

function requirePushChannel(era: ProtocolEra, sdk: ServerContext, what: string): void {
  const version = envelopeOf(sdk)?.[PROTOCOL_VERSION_META_KEY];
  if (era === 'modern' || version !== undefined) {
    throw new ToolError(`This request uses protocol ${String(version ?? '2026-07-28')}, which has no server-to-client ${what} requests; the tool must return inputRequired(...) instead.`);
  }
}
