import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { ErrorCodes, type Logger } from '@trellis/server';
import { rpcError, sendJson } from '../http/wire.js';
import type { FastAnswer, FastCallSink } from './serve.js';

/**
 * The one writer of a fast-path HTTP answer: plain JSON, or a
 * `text/event-stream` from the moment the call reports progress or logs (as
 * the SDK's `auto` response mode does), ended by the answer's event. It is
 * the call's sink (`serveFastCall`): one object per call, no closures.
 */
export class AnswerStream implements FastCallSink {
  readonly #res: ServerResponse;
  readonly #headers: Record<string, string>;
  readonly #id: string | number;
  readonly #log: Logger;
  #streaming = false;

  constructor(res: ServerResponse, id: string | number, log: Logger, headers: Record<string, string> = {}) {
    this.#res = res;
    this.#id = id;
    this.#log = log;
    this.#headers = headers;
  }

  /** A notification during the call (progress, a log line); the first one turns the answer into an event stream. */
  notify(notification: { method: string; params?: Record<string, unknown> }): Promise<void> {
    this.#event({ jsonrpc: '2.0', ...notification } as JSONRPCMessage);
    return Promise.resolve();
  }

  #event(message: JSONRPCMessage): void {
    const res = this.#res;
    if (res.destroyed) return;
    if (!this.#streaming) {
      this.#streaming = true;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...this.#headers });
    }
    res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  }

  /** Ends the exchange with the answer (or, for a call given up, with none: 202 Accepted). */
  answer({ message, status }: FastAnswer): void {
    const res = this.#res;
    if (this.#streaming) {
      if (message) this.#event(message);
      res.end();
    } else if (res.destroyed) {
      return;
    } else if (message) {
      sendJson(res, status, JSON.stringify(message), this.#headers);
    } else {
      res.writeHead(202, this.#headers).end();
    }
  }

  /** Serving failed outside the pipeline: answer what can still be answered. */
  fail(error: unknown): void {
    this.#log.error({ err: error }, 'fast tool call failed');
    const res = this.#res;
    if (res.destroyed) return;
    if (!res.headersSent) sendJson(res, 500, rpcError(ErrorCodes.InternalError, 'Internal error', this.#id));
    else res.end();
  }
}
