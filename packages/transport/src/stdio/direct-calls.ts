import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { AbortReasons, ErrorCodes, type Connection, type Logger, type TrellisServer } from '@trellis/server';
import { isPlainObject, takesFastPath } from '../direct/eligibility.js';
import { serveFastCall, type FastAnswer, type FastCallSink } from '../direct/serve.js';
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
    serveFastCall(this.#core, this.#connection, message, new LineCall(this.#wire, message.id, this.#core.logger));
    return true;
  };
}

/** One fast-path call's sink on the line: its notifications and answer go out as lines (a write failure is the line's to report). */
class LineCall implements FastCallSink {
  constructor(
    private readonly wire: LineTransport,
    private readonly id: string | number,
    private readonly log: Logger,
  ) {}

  notify(notification: { method: string; params?: Record<string, unknown> }): Promise<void> {
    return this.wire.send({ jsonrpc: '2.0', ...notification } as JSONRPCMessage).catch(() => undefined);
  }

  answer(answer: FastAnswer): void {
    if (answer.message) this.wire.send(answer.message).catch(() => undefined);
  }

  fail(error: unknown): void {
    this.log.error({ err: error }, 'fast tool call failed');
    this.wire
      .send({ jsonrpc: '2.0', id: this.id, error: { code: ErrorCodes.InternalError, message: 'Internal error' } })
      .catch(() => undefined);
  }
}
