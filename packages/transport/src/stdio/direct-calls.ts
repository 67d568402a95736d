import {
  isInputRequiredResult,
  ProtocolError,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { runToolCall, type TrellisServer } from '@trellis/server';
import type { LineTransport } from './line-transport.js';

type RequestId = string | number;

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
 * Everything else goes to the SDK: other methods, requests before the
 * handshake completes, malformed or task-augmented calls (the SDK answers
 * them), 2026-07-28 connections, and a call whose tool answers
 * `input_required` — handed to the SDK as it arrived, whose legacy shim then
 * asks the client and runs the handler again (multi-round-trip handlers are
 * re-entrant by design).
 */
export class DirectToolCalls {
  readonly #core: TrellisServer;
  readonly #wire: LineTransport;
  readonly #inflight = new Map<RequestId, AbortController>();
  /** The connection's older-protocol instance, once the SDK has made it. */
  protocol: Server | undefined;

  constructor(core: TrellisServer, wire: LineTransport) {
    this.#core = core;
    this.#wire = wire;
  }

  /** Returns true when it took the message. */
  readonly intercept = (message: JSONRPCMessage): boolean => {
    const protocol = this.protocol;
    if (!protocol || !('method' in message)) return false;
    if (!('id' in message)) {
      if (message.method === 'notifications/cancelled' && isPlainObject(message.params)) {
        const id = message.params.requestId as RequestId;
        const reason = typeof message.params.reason === 'string' ? message.params.reason : 'the client cancelled the request';
        this.#inflight.get(id)?.abort(new Error(reason));
      }
      return false;
    }
    if (message.method !== 'tools/call' || protocol.getClientCapabilities() === undefined) return false;
    const params = message.params;
    if (!isPlainObject(params) || typeof params.name !== 'string' || 'task' in params) return false;
    if ((params.arguments !== undefined && !isPlainObject(params.arguments)) || (params._meta !== undefined && !isPlainObject(params._meta))) return false;
    if (this.#inflight.has(message.id)) return false;
    void this.#serve(protocol, message as JSONRPCRequest);
    return true;
  };

  async #serve(protocol: Server, message: JSONRPCRequest): Promise<void> {
    const controller = new AbortController();
    const { id } = message;
    this.#inflight.set(id, controller);
    let handOver = false;
    try {
      const result = await runToolCall({ core: this.#core, protocol, era: 'legacy' }, message.params as never, contextFor(protocol, message, controller.signal));
      // A cancelled request gets no answer (as the SDK does).
      if (controller.signal.aborted) return;
      if (isInputRequiredResult(result)) {
        handOver = true;
        return;
      }
      await this.#wire.send({ jsonrpc: '2.0', id, result: result as Record<string, unknown> });
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
function contextFor(protocol: Server, message: JSONRPCRequest, signal: AbortSignal): ServerContext {
  const params = message.params as { _meta?: Record<string, unknown> };
  return {
    sessionId: undefined,
    mcpReq: {
      id: message.id,
      method: message.method,
      _meta: params._meta,
      requestState: () => undefined,
      signal,
      send: ((request: { method: string; params?: Record<string, unknown> }, options?: unknown) =>
        protocol.request(request as never, options as never)) as never,
      notify: (notification) => protocol.notification(notification, { relatedRequestId: message.id }),
      log: (level, data, logger) => protocol.sendLoggingMessage({ level, data, ...(logger !== undefined && { logger }) }),
      elicitInput: (request, options) => protocol.elicitInput(request, options),
      requestSampling: (request, options) => protocol.createMessage(request, options),
    },
  } as ServerContext;
}
