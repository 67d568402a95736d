import type { Readable, Writable } from 'node:stream';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server';
import { ErrorCodes } from '@trellis/server';
import { TopLevelIdScanner } from './id-scanner.js';

/** Default largest inbound message: 4 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

const NEWLINE = 0x0a;

/** Why an inbound line was answered by the transport instead of reaching the server. */
export type RefusalReason = 'parse-error' | 'invalid-message' | 'too-large' | 'shutting-down';

/** Reported through `onerror` for each refused line; the client already got a JSON-RPC error. */
export class StdioMessageError extends Error {
  readonly code = 'STDIO_MESSAGE_REFUSED';
  constructor(
    readonly reason: RefusalReason,
    message: string,
    readonly id: string | number | null,
  ) {
    super(message);
    this.name = 'StdioMessageError';
  }
}

export interface LineTransportOptions {
  input: Readable;
  output: Writable;
  /**
   * Writes one framed message. Default: `output.write`. The stdout guard
   * supplies the real writer here, since `output.write` itself is diverted.
   */
  write?: (chunk: string) => boolean;
  /** Largest accepted message in bytes (without its newline). Default 4 MiB. */
  maxMessageBytes?: number;
  /** Called once when the input ends. Default: the transport closes. */
  onInputEnd?: () => void;
}

/**
 * Newline-delimited JSON-RPC over a pair of streams, implementing the SDK's
 * `Transport`. Unlike the SDK's stdio transport it answers a malformed line
 * with a parse error and keeps serving, and refuses a message over the size
 * limit without buffering it: the excess is discarded up to the next newline,
 * keeping only its top-level id so the error can answer the right request.
 *
 * Framing cost is one `Buffer.concat` per message that spans chunks; no string
 * concatenation of the buffer.
 */
export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Sees each valid message first; returning true means it was handled and the SDK does not get it. */
  intercept?: (message: JSONRPCMessage) => boolean;
  /** Told of every message sent, before it is written (the listen streams' observation). */
  outbound?: (message: JSONRPCMessage) => void;

  readonly #input: Readable;
  readonly #output: Writable;
  readonly #write: (chunk: string) => boolean;
  readonly #max: number;
  readonly #onInputEnd: (() => void) | undefined;
  #chunks: Buffer[] = [];
  #pending = 0;
  #oversized: TopLevelIdScanner | undefined;
  #oversizedBytes = 0;
  #refuseRequests = false;
  #started = false;
  #closed = false;
  #inputEnded = false;
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  constructor(options: LineTransportOptions) {
    const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(max) || max < 1)
      throw new TypeError(`option maxMessageBytes must be a positive integer, got ${String(max)}`);
    this.#input = options.input;
    this.#output = options.output;
    this.#write = options.write ?? ((chunk) => this.#output.write(chunk));
    this.#max = max;
    this.#onInputEnd = options.onInputEnd;
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /** Resolves once the transport has closed. */
  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error('LineTransport already started');
    this.#started = true;
    this.#input.on('data', this.#onData);
    this.#input.on('end', this.#onEnd);
    this.#input.on('close', this.#onEnd);
    this.#input.on('error', this.#onInputError);
    this.#output.on('error', this.#onOutputError);
    if (this.#input.readableEnded || this.#input.destroyed) setImmediate(this.#onEnd);
  }

  /**
   * From now on, requests are answered with a "shutting down" error instead of
   * being delivered; notifications and responses (cancellations, answers to
   * server-to-client requests) still pass.
   */
  refuseRequests(): void {
    this.#refuseRequests = true;
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('LineTransport is closed'));
    this.outbound?.(message);
    const line = JSON.stringify(message);
    if ('method' in message && !('id' in message)) {
      // Notifications (progress, logs) go out at once, ahead of the answer they
      // belong to: some clients drop a progress notification that arrives in the
      // same read as its request's answer.
      this.#batch.push(`${line}\n`);
      this.#flush();
      return this.#backpressure ?? Promise.resolve();
    }
    return this.#writeLine(line);
  }

  /**
   * Answers completed in the same run of the microtask queue go out in one
   * write: under pipelined load that is one syscall for many answers instead
   * of one each (stdout on a pipe writes synchronously), while a lone answer
   * leaves at once, without waiting for the next turn of the event loop.
   */
  #batch: string[] = [];
  #flushScheduled = false;
  #backpressure: Promise<void> | undefined;

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#batch.length === 0) return;
    const data = this.#batch.length === 1 ? this.#batch[0]! : this.#batch.join('');
    this.#batch = [];
    if (this.#write(data) || this.#backpressure) return;
    this.#backpressure = new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        this.#output.off('drain', onDrain);
        this.#output.off('error', onError);
        this.#backpressure = undefined;
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      const onError = (error: Error) => done(error);
      this.#output.once('drain', onDrain);
      this.#output.once('error', onError);
    });
    // Writers that do not wait still must not see an unhandled rejection.
    this.#backpressure.catch(() => undefined);
  };

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.#input.off('data', this.#onData);
    this.#input.off('end', this.#onEnd);
    this.#input.off('close', this.#onEnd);
    this.#input.off('error', this.#onInputError);
    this.#output.off('error', this.#onOutputError);
    // A late write error after close must not crash the process.
    this.#output.on('error', () => undefined);
    if (this.#input.listenerCount('data') === 0) this.#input.pause();
    this.#chunks = [];
    this.#pending = 0;
    this.#oversized = undefined;
    this.onclose?.();
    this.#resolveClosed();
  }

  #writeLine(json: string): Promise<void> {
    this.#batch.push(`${json}\n`);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
    return this.#backpressure ?? Promise.resolve();
  }

  readonly #onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    while (start < bytes.length && !this.#closed) {
      const newline = bytes.indexOf(NEWLINE, start);
      const end = newline === -1 ? bytes.length : newline;
      if (this.#oversized) {
        this.#oversized.feed(bytes, start, end);
        this.#oversizedBytes += end - start;
      } else if (this.#pending + (end - start) > this.#max) {
        // Too large: from here on only the id is kept, and the bytes are dropped.
        const scanner = new TopLevelIdScanner();
        for (const held of this.#chunks) scanner.feed(held);
        scanner.feed(bytes, start, end);
        this.#oversized = scanner;
        this.#oversizedBytes = this.#pending + (end - start);
        this.#chunks = [];
        this.#pending = 0;
      } else if (end > start) {
        this.#chunks.push(bytes.subarray(start, end));
        this.#pending += end - start;
      }
      if (newline === -1) return;
      start = newline + 1;
      if (this.#oversized) {
        const { id } = this.#oversized;
        const size = this.#oversizedBytes;
        this.#oversized = undefined;
        this.#refuse(
          'too-large',
          id,
          ErrorCodes.InvalidRequest,
          `Message too large: ${size} bytes exceeds the limit of ${this.#max} bytes`,
          { limit: this.#max, size },
        );
        continue;
      }
      const line = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#pending);
      this.#chunks = [];
      this.#pending = 0;
      this.#handleLine(line);
    }
  };

  #handleLine(line: Buffer): void {
    const text = line.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (text.trim() === '') return; // blank lines (and CRLF leftovers) are not messages
      this.#refuse('parse-error', null, ErrorCodes.ParseError, 'Parse error');
      return;
    }
    const problem = messageProblem(value);
    if (problem) {
      this.#refuse('invalid-message', idOf(value), ErrorCodes.InvalidRequest, `Invalid Request: ${problem}`);
      return;
    }
    const message = value as JSONRPCMessage;
    if (this.#refuseRequests && 'method' in message && 'id' in message) {
      this.#refuse('shutting-down', message.id, ErrorCodes.TransportRejected, 'Server is shutting down');
      return;
    }
    if (this.intercept?.(message)) return;
    this.onmessage?.(message);
  }

  #refuse(reason: RefusalReason, id: string | number | null, code: number, message: string, data?: unknown): void {
    const response = { jsonrpc: '2.0', id, error: { code, message, ...(data !== undefined && { data }) } };
    this.#writeLine(JSON.stringify(response)).catch((error: unknown) => this.onerror?.(error as Error));
    this.onerror?.(new StdioMessageError(reason, message, id));
  }

  readonly #onEnd = (): void => {
    if (this.#inputEnded || this.#closed) return;
    this.#inputEnded = true;
    if (this.#onInputEnd) this.#onInputEnd();
    else void this.close();
  };

  readonly #onInputError = (error: Error): void => {
    this.onerror?.(error);
  };

  readonly #onOutputError = (error: Error): void => {
    // The reader is gone (EPIPE): nothing more can be answered.
    this.onerror?.(error);
    void this.close();
  };
}

/**
 * A usable request id: a string, or an integer JSON numbers carry exactly (the
 * SDK's schema: `1.5`, `1e308` or 2^64 is no id a client could match an answer to).
 */
export function isUsableId(id: unknown): id is string | number {
  return typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id));
}

/**
 * What makes a parsed value not a JSON-RPC 2.0 message the server can take, or
 * undefined when it is one. Mirrors the SDK's message schema, so nothing that
 * passes here is dropped later without an answer.
 */
function messageProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return 'expected a JSON-RPC 2.0 object (batches are not supported)';
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return 'jsonrpc must be "2.0"';
  const hasId = 'id' in m;
  if (hasId && !isUsableId(m.id))
    return 'id must be a string or an integer (a safe one: at most 2^53 - 1 in magnitude)';
  if ('method' in m) {
    if (typeof m.method !== 'string') return 'method must be a string';
    if ('result' in m || 'error' in m) return 'a message cannot carry a method together with a result or an error';
    if (m.params !== undefined && (m.params === null || typeof m.params !== 'object' || Array.isArray(m.params)))
      return 'params must be an object (MCP has no positional params)';
    return undefined;
  }
  if (!hasId) return 'a message needs a method, or an id with a result or error';
  if ('result' in m && 'error' in m) return 'a response cannot carry both a result and an error';
  if ('result' in m)
    return m.result !== null && typeof m.result === 'object' && !Array.isArray(m.result)
      ? undefined
      : 'result must be an object';
  if ('error' in m) {
    const e = m.error as Record<string, unknown> | null;
    return e && typeof e === 'object' && Number.isInteger(e.code) && typeof e.message === 'string'
      ? undefined
      : 'error must have an integer code and a message';
  }
  return 'a response needs a result or an error';
}

/** The id an error answer can carry: the message's own when usable, else null (JSON-RPC 2.0 §5). */
function idOf(value: unknown): string | number | null {
  if (value === null || typeof value !== 'object') return null;
  const id = (value as { id?: unknown }).id;
  return isUsableId(id) ? id : null;
}
