import type { JSONRPCMessage, JSONRPCRequest } from '@modelcontextprotocol/server';
import { AbortReasons, ErrorCodes, type Connection, type TrellisServer } from '@trellis/server';
import { isPlainObject, takesFastPath } from '../direct/eligibility.js';
import { serveFastCall } from '../direct/serve.js';
import type { LineTransport } from './line-transport.js';

/**
 * The stdio fast path: a `tools/call` the one eligibility rule accepts
 * (`direct/eligibility.ts`) goes from the parsed line into the pipeline and its
 * answer back onto the line, without the SDK's per-message work. Everything
 * else, and cancellations too, also reaches the SDK. Cancellations abort the
 * call on the connection's in-flight record, whichever path serves it.
 */
export class FastToolCalls {
  readonly #core: TrellisServer;
  readonly #wire: LineTransport;
  readonly #connection: Connection;
  readonly #enabled: boolean;

  constructor(core: TrellisServer, wire: LineTransport, connection: Connection, enabled: boolean) {
    this.#core = core;
    this.#wire = wire;
    this.#connection = connection;
    this.#enabled = enabled;
  }

  /** Returns true when it took the message. */
  readonly intercept = (message: JSONRPCMessage): boolean => {
    if (!('method' in message)) return false;
    if (!('id' in message)) {
      if (message.method === 'notifications/cancelled' && isPlainObject(message.params)) {
        const reason = typeof message.params.reason === 'string' ? message.params.reason : AbortReasons.clientCancelled;
        this.#connection.cancel(message.params.requestId as string | number, new Error(reason));
      }
      return false;
    }
    if (!this.#enabled || !takesFastPath(this.#core, this.#connection, message)) return false;
    this.#serve(message).catch((error: unknown) => {
      // Nothing may escape as an unhandled rejection.
      this.#core.logger.error({ err: error }, 'fast tool call failed');
      this.#wire
        .send({ jsonrpc: '2.0', id: message.id, error: { code: ErrorCodes.InternalError, message: 'Internal error' } })
        .catch(() => undefined);
    });
    return true;
  };

  async #serve(message: JSONRPCRequest): Promise<void> {
    const answer = await serveFastCall(this.#core, this.#connection, message, (event) =>
      this.#wire.send(event).catch(() => undefined),
    );
    if (answer.message) await this.#wire.send(answer.message).catch(() => undefined);
  }
}
