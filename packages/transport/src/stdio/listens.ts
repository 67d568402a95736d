import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { ErrorCodes, type RequestObservation, type TransportKind, type TrellisServer } from '@trellis/server';

const LISTEN = 'subscriptions/listen';
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';

/**
 * The `subscriptions/listen` streams of one stdio connection, as the server's
 * operation observers see them. The SDK's stdio entry serves a listen before
 * any handler, so the line transport reports what passes it: a listen request
 * opens an observation; it ends when the stream does — the entry's answer to
 * that id (its closing result, or the error that refused it), the client's
 * `notifications/cancelled` of it, or the connection closing.
 */
export class ListenStreams {
  readonly #core: TrellisServer;
  readonly #transport: TransportKind;
  readonly #open = new Map<string | number, RequestObservation>();

  constructor(core: TrellisServer, transport: TransportKind) {
    this.#core = core;
    this.#transport = transport;
  }

  /** An inbound message (before the SDK sees it). */
  inbound(message: JSONRPCMessage): void {
    if (!('method' in message)) return;
    if ('id' in message) {
      if (message.method === LISTEN) this.#opened(message.id, message.params);
      return;
    }
    if (message.method === 'notifications/cancelled' && this.#open.size > 0) {
      const id = (message.params as { requestId?: unknown } | undefined)?.requestId;
      if (typeof id === 'string' || typeof id === 'number') this.#end(id, { outcome: 'result' });
    }
  }

  /** An outbound message: the answer that closes (or refuses) an open listen. */
  outbound(message: JSONRPCMessage): void {
    if (this.#open.size === 0 || 'method' in message || !('id' in message)) return;
    const id = message.id;
    if (id === null || id === undefined) return;
    if ('error' in message) {
      const { code, message: text } = message.error;
      this.#end(id, { outcome: 'error', code, error: Object.assign(new Error(text), { code }) });
    } else this.#end(id, { outcome: 'result' });
  }

  /** The connection closed: every stream on it has ended. */
  closeAll(): void {
    for (const id of [...this.#open.keys()]) this.#end(id, { outcome: 'result' });
  }

  #opened(id: string | number, params: Record<string, unknown> | undefined): void {
    const meta = params?._meta as Record<string, unknown> | undefined;
    const version = meta?.[PROTOCOL_VERSION_KEY];
    const observation = this.#core.observeRequest({
      method: LISTEN,
      target: undefined,
      requestId: id,
      era: 'modern',
      sessionId: undefined,
      transport: this.#transport,
      protocolVersion: typeof version === 'string' ? version : undefined,
      meta,
      params,
    });
    if (!observation) return;
    // A second listen with an id still open is the SDK's to refuse; the first stays observed.
    if (this.#open.has(id)) return observation.end({ outcome: 'error', code: ErrorCodes.InvalidRequest });
    this.#open.set(id, observation);
  }

  #end(id: string | number, end: Parameters<RequestObservation['end']>[0]): void {
    const observation = this.#open.get(id);
    if (!observation) return;
    this.#open.delete(id);
    observation.end(end);
  }
}
