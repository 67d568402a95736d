import type { Duplex } from 'node:stream';
import type pg from 'pg';

/** Why the guard stopped a connection. */
export interface GuardTrip {
  /**
   * - `budget`: the next row would take the call's rows past its byte budget;
   * - `message`: one protocol message announced more bytes than any may have;
   * - `decode`: the driver failed on what the server sent.
   */
  reason: 'budget' | 'message' | 'decode';
  /** The bytes the stopped message announced (0 for `decode`). */
  announcedBytes: number;
  /** Row bytes the call had received before the stop. */
  receivedBytes: number;
  /** Rows the call had received before the stop. */
  rows: number;
  /** The largest message the guard let through at the time. */
  messageLimit: number;
}

const HEADER_BYTES = 5;
const DATA_ROW = 0x44; // 'D'

/**
 * Sits between a `pg` connection's socket and the driver's parser and reads
 * the length every backend message announces in its header, before the
 * driver buffers the message. A row that would take the call past its byte
 * budget, or any message larger than `maxMessageBytes`, is never handed to
 * the driver: the guard passes on what came before it, drops the rest and
 * destroys the socket (the driver then fails the running statement and the
 * pool discards the connection). An exception the driver throws while
 * decoding is caught here too, so nothing a query returns can throw outside
 * the call that ran it.
 */
export class ResultGuard {
  readonly #stream: Duplex;
  /** No message may be larger than the budget, nor than this floor (an error text may be long). */
  readonly #messageFloor: number;
  #maxMessageBytes: number;
  readonly #header = Buffer.alloc(HEADER_BYTES);
  #headerFill = 0;
  #bodyLeft = 0;
  #budget = Number.POSITIVE_INFINITY;
  #receivedBytes = 0;
  #rows = 0;
  #trip: GuardTrip | undefined;
  #onTrip: ((trip: GuardTrip) => void) | undefined;

  private constructor(stream: Duplex, messageFloor: number) {
    this.#stream = stream;
    this.#messageFloor = messageFloor;
    this.#maxMessageBytes = messageFloor;
  }

  /**
   * Puts a guard under a connected client: the driver's data listeners are
   * taken off the socket and fed through the guard. Between calls no message
   * may be larger than `messageFloor`; during a call, than the call's budget or the floor.
   */
  static install(client: pg.ClientBase, messageFloor: number): ResultGuard {
    // `connection.stream` is pg's socket (a TLS socket after an SSL upgrade); it is not in pg's typings.
    const stream = (client as unknown as { connection: { stream: Duplex } }).connection.stream;
    const guard = new ResultGuard(stream, messageFloor);
    const driver = stream.listeners('data') as ((chunk: Buffer) => void)[];
    stream.removeAllListeners('data');
    stream.on('data', (chunk: Buffer) => guard.#feed(chunk, driver));
    return guard;
  }

  /** Starts counting one call's rows against `budgetBytes`; `onTrip` hears of a stop. */
  arm(budgetBytes: number, onTrip?: (trip: GuardTrip) => void): void {
    this.#budget = budgetBytes;
    this.#maxMessageBytes = Math.max(budgetBytes, this.#messageFloor);
    this.#receivedBytes = 0;
    this.#rows = 0;
    this.#onTrip = onTrip;
  }

  /** Stops counting (between calls only the per-message limit applies). */
  disarm(): void {
    this.#budget = Number.POSITIVE_INFINITY;
    this.#maxMessageBytes = this.#messageFloor;
    this.#onTrip = undefined;
  }

  /** Set once the guard stopped the connection. */
  get trip(): GuardTrip | undefined {
    return this.#trip;
  }

  /** The largest message the guard lets through now. */
  get maxMessageBytes(): number {
    return this.#maxMessageBytes;
  }

  /** Row bytes (as sent on the wire) received since `arm`. */
  get receivedBytes(): number {
    return this.#receivedBytes;
  }

  #feed(chunk: Buffer, driver: readonly ((chunk: Buffer) => void)[]): void {
    if (this.#trip) return;
    const passed = this.#filter(chunk);
    if (passed.length > 0) {
      try {
        for (const listener of driver) listener.call(this.#stream, passed);
      } catch {
        this.#stop({
          reason: 'decode',
          announcedBytes: 0,
          receivedBytes: this.#receivedBytes,
          rows: this.#rows,
          messageLimit: this.#maxMessageBytes,
        });
      }
    }
    if (this.#trip) this.#stream.destroy();
  }

  /** The part of `chunk` the driver may see; records a trip when it ends early. */
  #filter(chunk: Buffer): Buffer {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.length - offset);
        this.#bodyLeft -= take;
        offset += take;
        continue;
      }
      const messageStart = offset - this.#headerFill;
      const take = Math.min(HEADER_BYTES - this.#headerFill, chunk.length - offset);
      chunk.copy(this.#header, this.#headerFill, offset, offset + take);
      this.#headerFill += take;
      offset += take;
      if (this.#headerFill < HEADER_BYTES) break;
      this.#headerFill = 0;
      // The length counts itself but not the type byte.
      const length = this.#header.readUInt32BE(1);
      const size = length + 1;
      const isRow = this.#header[0] === DATA_ROW;
      const reason =
        isRow && this.#receivedBytes + size > this.#budget
          ? 'budget'
          : size > this.#maxMessageBytes
            ? 'message'
            : undefined;
      if (reason) {
        this.#stop({
          reason,
          announcedBytes: size,
          receivedBytes: this.#receivedBytes,
          rows: this.#rows,
          messageLimit: this.#maxMessageBytes,
        });
        // A header split across chunks was partly passed on already; the driver just never completes it.
        return chunk.subarray(0, Math.max(0, messageStart));
      }
      if (isRow) {
        this.#receivedBytes += size;
        this.#rows += 1;
      }
      this.#bodyLeft = length - 4;
    }
    return chunk;
  }

  #stop(trip: GuardTrip): void {
    this.#trip = trip;
    try {
      this.#onTrip?.(trip);
    } catch {
      // A listener's failure must not keep the socket open.
    }
  }
}
