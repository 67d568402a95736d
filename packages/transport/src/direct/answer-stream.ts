import type { ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { sendJson } from '../http/wire.js';

/**
 * The one writer of a fast-path HTTP answer: plain JSON, or a
 * `text/event-stream` from the moment the call reports progress or logs (as
 * the SDK's `auto` response mode does), ended by the answer's event.
 */
export class AnswerStream {
  readonly #res: ServerResponse;
  readonly #headers: Record<string, string>;
  #streaming = false;

  constructor(res: ServerResponse, headers: Record<string, string> = {}) {
    this.#res = res;
    this.#headers = headers;
  }

  /** Sends a message during the call; the first one turns the answer into an event stream. */
  readonly event = (message: JSONRPCMessage): void => {
    const res = this.#res;
    if (res.destroyed) return;
    if (!this.#streaming) {
      this.#streaming = true;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...this.#headers });
    }
    res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  };

  /** Ends the exchange with the answer (or, for a call given up, with none: 202 Accepted). */
  finish(answer: JSONRPCMessage | undefined, status: number): void {
    const res = this.#res;
    if (this.#streaming) {
      if (answer) this.event(answer);
      res.end();
    } else if (res.destroyed) {
      return;
    } else if (answer) {
      sendJson(res, status, JSON.stringify(answer), this.#headers);
    } else {
      res.writeHead(202, this.#headers).end();
    }
  }
}
