import {
  CLIENT_CAPABILITIES_META_KEY,
  isInputRequiredResult,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  SERVER_INFO_META_KEY,
  type LoggingLevel,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { runToolCall, type TrellisServer } from '@trellis/server';
import type { LineTransport } from './line-transport.js';

type RequestId = string | number;

/** The 2026-07-28 revision this path serves; anything else goes to the SDK, which answers it. */
const MODERN = '2026-07-28';
const RESERVED = 'io.modelcontextprotocol/';
const SEVERITY: Record<LoggingLevel, number> = { debug: 0, info: 1, notice: 2, warning: 3, error: 4, critical: 5, alert: 6, emergency: 7 };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Serves `tools/call` on an initialized older-protocol stdio connection
 * straight from the parsed line to the tool registry and back, skipping the
 * SDK's generic per-message work (schema-validating every request and result,
 * building its handler context): the same `runToolCall` the SDK's dispatch
 * uses runs, with a context whose notifications, logs and server-to-client
 * requests go through the connection's SDK protocol object.
 *
 * On a 2026-07-28 connection it takes calls whose envelope names exactly that
 * revision and declares client capabilities, with no multi-round-trip input;
 * answers are encoded as the SDK encodes them (`resultType`, server identity).
 *
 * Everything else goes to the SDK: other methods, requests before the
 * handshake completes, malformed, task-augmented or otherwise unusual calls
 * (the SDK answers them), retries carrying `inputResponses`/`requestState`,
 * and a call whose tool answers `input_required` — handed to the SDK as it
 * arrived, which asks the client (older protocol) or checks and returns it
 * (2026-07-28) after running the handler again (multi-round-trip handlers are
 * re-entrant by design).
 */
export class DirectToolCalls {
  readonly #core: TrellisServer;
  readonly #wire: LineTransport;
  readonly #inflight = new Map<RequestId, AbortController>();
  #protocol: Server | undefined;
  #era: 'legacy' | 'modern' = 'legacy';
  /** Whether the SDK has served a 2026-07-28 request other than discovery: only that pins the connection's era. */
  #modernPinned = false;

  constructor(core: TrellisServer, wire: LineTransport) {
    this.#core = core;
    this.#wire = wire;
  }

  /** The protocol object the SDK pinned for this connection. */
  attach(protocol: Server, era: 'legacy' | 'modern'): void {
    this.#protocol = protocol;
    this.#era = era;
  }

  /** Forgets `protocol` once it closes (a discarded discovery probe must not unpin the connection's instance). */
  detach(protocol: Server): void {
    if (this.#protocol === protocol) this.#protocol = undefined;
  }

  /** Returns true when it took the message. */
  readonly intercept = (message: JSONRPCMessage): boolean => {
    const protocol = this.#protocol;
    if (!protocol || !('method' in message)) return false;
    if (!('id' in message)) {
      if (message.method === 'notifications/cancelled' && isPlainObject(message.params)) {
        const id = message.params.requestId as RequestId;
        const reason = typeof message.params.reason === 'string' ? message.params.reason : 'the client cancelled the request';
        this.#inflight.get(id)?.abort(new Error(reason));
      }
      return false;
    }
    if (this.#era === 'modern' && !this.#modernPinned) {
      const meta = isPlainObject(message.params) ? message.params._meta : undefined;
      this.#modernPinned = message.method !== 'server/discover' && isPlainObject(meta) && meta[PROTOCOL_VERSION_META_KEY] !== undefined;
      return false;
    }
    if (message.method !== 'tools/call') return false;
    const params = message.params;
    if (!isPlainObject(params) || typeof params.name !== 'string' || 'task' in params) return false;
    if ((params.arguments !== undefined && !isPlainObject(params.arguments)) || (params._meta !== undefined && !isPlainObject(params._meta))) return false;
    if (this.#inflight.has(message.id)) return false;
    if (this.#era === 'legacy') {
      if (protocol.getClientCapabilities() === undefined) return false;
    } else {
      const meta = params._meta as Record<string, unknown> | undefined;
      if (meta?.[PROTOCOL_VERSION_META_KEY] !== MODERN || !isPlainObject(meta[CLIENT_CAPABILITIES_META_KEY])) return false;
      if ('inputResponses' in params || 'requestState' in params) return false;
      const level = meta[LOG_LEVEL_META_KEY];
      if (level !== undefined && !(typeof level === 'string' && level in SEVERITY)) return false;
    }
    void this.#serve(protocol, message as JSONRPCRequest);
    return true;
  };

  /** A 2026-07-28 answer as the SDK encodes it: its kind, and who answered. */
  #encodeModern(result: Record<string, unknown>): Record<string, unknown> {
    const meta = isPlainObject(result._meta) ? result._meta : undefined;
    return { ...result, resultType: 'complete', _meta: { ...meta, [SERVER_INFO_META_KEY]: this.#core.serverInfo } };
  }

  async #serve(protocol: Server, message: JSONRPCRequest): Promise<void> {
    const controller = new AbortController();
    const { id } = message;
    this.#inflight.set(id, controller);
    let handOver = false;
    try {
      const era = this.#era;
      const result = await runToolCall({ core: this.#core, protocol, era }, message.params as never, contextFor(protocol, era, message, controller.signal));
      // A cancelled request gets no answer (as the SDK does).
      if (controller.signal.aborted) return;
      if (isInputRequiredResult(result)) {
        handOver = true;
        return;
      }
      await this.#wire.send({ jsonrpc: '2.0', id, result: era === 'modern' ? this.#encodeModern(result as Record<string, unknown>) : (result as Record<string, unknown>) });
    } catch (error) {
      if (controller.signal.aborted) return;
      const body =
        error instanceof ProtocolError
          ? { code: error.code, message: error.message, ...(error.data !== undefined && { data: error.data }) }
          : { code: -32603, message: 'Internal error' };
      if (!(error instanceof ProtocolError)) this.#core.logger.error({ err: error }, 'tools/call failed');
      await this.#wire.send({ jsonrpc: '2.0', id, error: body }).catch(() => undefined);
    } finally {
      this.#inflight.delete(id);
      if (handOver) this.#wire.onmessage?.(message);
    }
  }
}

/** The slice of the SDK's handler context that Trellis reads, served by the protocol object. */
function contextFor(protocol: Server, era: 'legacy' | 'modern', message: JSONRPCRequest, signal: AbortSignal): ServerContext {
  const raw = (message.params as { _meta?: Record<string, unknown> })._meta;
  // As the SDK does: the reserved envelope keys are lifted out of the `_meta` handlers see.
  let meta = raw;
  let envelope: Record<string, unknown> | undefined;
  if (raw && era === 'modern') {
    meta = {};
    envelope = {};
    for (const [key, value] of Object.entries(raw)) (key.startsWith(RESERVED) ? envelope : meta)[key] = value;
  }
  const logLevel = envelope?.[LOG_LEVEL_META_KEY] as LoggingLevel | undefined;
  return {
    sessionId: undefined,
    mcpReq: {
      id: message.id,
      method: message.method,
      _meta: meta,
      ...(envelope && { envelope }),
      requestState: () => undefined,
      signal,
      send: ((request: { method: string; params?: Record<string, unknown> }, options?: unknown) =>
        protocol.request(request as never, options as never)) as never,
      notify: (notification) => protocol.notification(notification, { relatedRequestId: message.id }),
      log: (level, data, logger) => {
        const params = { level, data, ...(logger !== undefined && { logger }) };
        if (era === 'legacy') return protocol.sendLoggingMessage(params);
        // 2026-07-28: only when the request asked for logs, at or above its level.
        if (logLevel === undefined || SEVERITY[level] < SEVERITY[logLevel]) return Promise.resolve();
        return protocol.notification({ method: 'notifications/message', params }, { relatedRequestId: message.id });
      },
      elicitInput: (request, options) => protocol.elicitInput(request, options),
      requestSampling: (request, options) => protocol.createMessage(request, options),
    },
  } as ServerContext;
}
