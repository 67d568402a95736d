import type {
  ClientCapabilities,
  CreateMessageRequest,
  CreateMessageResult,
  ElicitRequestFormParams,
  ElicitResult,
  LoggingLevel,
  ServerContext,
} from '@modelcontextprotocol/server';
import type { TaskGroup } from '@trellis/concurrency';
import type { Logger } from './logging.js';
import type { ServiceKey } from './services.js';

/** The protocol era a request arrived on. */
export type ProtocolEra = 'modern' | 'legacy';

/**
 * Everything a handler needs, made fresh for each request. Nothing is reached
 * through a module-level singleton.
 */
export interface RequestContext {
  /** The JSON-RPC id of the request. */
  readonly requestId: string | number;
  readonly method: string;
  /** Set on older-protocol HTTP sessions. */
  readonly sessionId: string | undefined;
  readonly era: ProtocolEra;
  /**
   * Aborts when the client cancels or disconnects, the tool's timeout passes,
   * or the server shuts down — whichever comes first.
   */
  readonly signal: AbortSignal;
  /** A task group bound to `signal`: work spawned here is cancelled with the request. */
  readonly group: TaskGroup;
  /** A child of the server's logger carrying the request id, method and session. */
  readonly log: Logger;
  /** The server's whole configuration (frozen). */
  readonly config: Readonly<Record<string, unknown>>;
  /** The configuration as it may be shown: every secret redacted (what `config://settings` serves). */
  settings(): Record<string, unknown>;
  /** What the client declared it supports (per request on 2026-07-28, per session before). */
  readonly clientCapabilities: ClientCapabilities | undefined;
  /** Answers from the client to an earlier `input_required` result (2026-07-28 multi-round-trip). */
  readonly inputResponses: Record<string, unknown> | undefined;
  /**
   * The verified `requestState` a client echoed back on a multi-round-trip
   * retry (what `mintRequestState` signed), or `undefined` on a first round.
   */
  requestState<T = unknown>(): T | undefined;
  /** Signs state to return in an `inputRequired({ requestState })` result; tampering is refused. */
  mintRequestState(payload: unknown): Promise<string>;
  /** Validated authentication of an HTTP request, when auth is on. */
  readonly auth: { token: string; clientId?: string; scopes: string[]; extra?: Record<string, unknown> } | undefined;
  /** A service provided by a plugin this one depends on. */
  service<T>(key: ServiceKey<T>): T;
  /** Reports progress if the client asked for it (a progress token); otherwise does nothing. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** Sends an MCP log notification, honouring the level the client asked for. */
  clientLog(level: LoggingLevel, data: unknown): Promise<void>;
  /**
   * Asks the user for input through the client (request-from-server style).
   * Only tools registered with `interactive: true` may ask (they are routed
   * where the client can be asked before they run); any other gets a
   * `ToolError` saying so. Throws a `ToolError` that says why when the client cannot be asked; on the
   * 2026-07-28 protocol, return `inputRequired(...)` instead (works on both eras).
   */
  elicit(params: Omit<ElicitRequestFormParams, 'mode'> & { mode?: 'form' }): Promise<ElicitResult>;
  /** Asks the client's model for a completion (request-from-server style); see `elicit`. */
  sample(params: CreateMessageRequest['params']): Promise<CreateMessageResult>;
  /** The request's `_meta` (progress token, trace context); on 2026-07-28 without the envelope keys. */
  readonly meta: Readonly<Record<string, unknown>> | undefined;
  /**
   * The SDK's own handler context, for what Trellis does not wrap. Set only
   * where the SDK dispatched the request: every operation but `tools/call`,
   * and calls of tools registered with `interactive: true` (the fast path
   * never serves those). Undefined on the fast path.
   */
  readonly sdk: ServerContext | undefined;
}
