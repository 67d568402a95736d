import { PROTOCOL_VERSION_META_KEY, type JSONRPCMessage, type JSONRPCRequest, type Server } from '@modelcontextprotocol/server';
import type { TrellisServer } from '@trellis/server';
import { isDirectToolCall, isPlainObject, runDirectCall } from '../direct/call.js';
import type { LineTransport } from './line-transport.js';

type RequestId = string | number;

/**
 * Serves `tools/call` on a stdio connection directly (see `direct/call.ts`),
 * once the SDK has pinned the connection's era: after the older-protocol
 * handshake, or after the first 2026-07-28 request the SDK served itself.
 * Notifications, logs and server-to-client requests go through the
 * connection's SDK protocol object; a call that answers `input_required` is
 * handed to the SDK as it arrived.
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
        const reason = typeof message.params.reason === 'string' ? message.params.reason : 'the client cancelled the request';
        this.#inflight.get(message.params.requestId as RequestId)?.abort(new Error(reason));
      }
      return false;
    }
    if (this.#era === 'modern' && !this.#modernPinned) {
      const meta = isPlainObject(message.params) ? message.params._meta : undefined;
      this.#modernPinned = message.method !== 'server/discover' && isPlainObject(meta) && meta[PROTOCOL_VERSION_META_KEY] !== undefined;
      return false;
    }
    if (!isDirectToolCall(message, this.#era) || this.#inflight.has(message.id)) return false;
    if (this.#era === 'legacy' && protocol.getClientCapabilities() === undefined) return false;
    this.#serve(protocol, message).catch((error: unknown) => {
      // Nothing may escape as an unhandled rejection.
      this.#core.logger.error({ err: error }, 'direct tool call failed');
      this.#wire.send({ jsonrpc: '2.0', id: message.id, error: { code: -32603, message: 'Internal error' } }).catch(() => undefined);
    });
    return true;
  };

  async #serve(protocol: Server, message: JSONRPCRequest): Promise<void> {
    const controller = new AbortController();
    const { id } = message;
    this.#inflight.set(id, controller);
    let outcome;
    try {
      outcome = await runDirectCall(this.#core, protocol, this.#era, message, controller.signal, {
        push: 'protocol',
        notify: (notification) => protocol.notification(notification, { relatedRequestId: id }),
        log: (level, data, logger) => protocol.sendLoggingMessage({ level, data, ...(logger !== undefined && { logger }) }),
      });
    } finally {
      this.#inflight.delete(id);
    }
    switch (outcome.kind) {
      case 'result':
        await this.#wire.send({ jsonrpc: '2.0', id, result: outcome.result }).catch(() => undefined);
        return;
      case 'error':
        await this.#wire.send({ jsonrpc: '2.0', id, error: outcome.error }).catch(() => undefined);
        return;
      case 'handover':
        // The SDK runs it again: it asks the client (older protocol) or checks and returns the input request.
        this.#wire.onmessage?.(message);
        return;
      case 'aborted':
        // A cancelled request gets no answer (as the SDK does).
        return;
    }
  }
}
