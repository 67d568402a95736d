import { PassThrough } from 'node:stream';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ResultGuard, type GuardTrip } from './result-guard.js';

/** A backend message: type byte, 4-byte length (counting itself), body. */
function message(type: string, bodyBytes: number): Buffer {
  const out = Buffer.alloc(5 + bodyBytes, 0x61);
  out.write(type, 0, 'latin1');
  out.writeUInt32BE(4 + bodyBytes, 1);
  return out;
}

/** A socket with a "driver" listener that records what reaches it, under a guard. */
function guarded(floor: number, driver: (chunk: Buffer) => void = () => undefined) {
  const stream = new PassThrough();
  const seen: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => {
    seen.push(chunk);
    driver(chunk);
  });
  const guard = ResultGuard.install({ connection: { stream } } as unknown as pg.ClientBase, floor);
  const feed = (...chunks: Buffer[]) => {
    for (const chunk of chunks) stream.emit('data', chunk);
  };
  return { stream, guard, feed, seen: () => Buffer.concat(seen) };
}

describe('ResultGuard', () => {
  it('passes messages through whole, however the chunks split them, and counts rows', () => {
    const { guard, feed, seen } = guarded(1024);
    guard.arm(10_000);
    const wire = Buffer.concat([message('T', 20), message('D', 100), message('D', 100), message('C', 10)]);
    // Split inside a header and inside a body.
    feed(wire.subarray(0, 27), wire.subarray(27, 28), wire.subarray(28, 60), wire.subarray(60));
    expect(seen()).toEqual(wire);
    expect(guard.trip).toBeUndefined();
    expect(guard.receivedBytes).toBe(2 * 105);
  });

  it('stops before the row that passes the budget: earlier messages pass, the socket is destroyed', () => {
    const { stream, guard, feed, seen } = guarded(1024);
    const trips: GuardTrip[] = [];
    guard.arm(250, (trip) => trips.push(trip));
    const before = Buffer.concat([message('T', 20), message('D', 100), message('D', 100)]);
    const third = message('D', 100);
    // The third row's header is split across two chunks.
    feed(Buffer.concat([before, third.subarray(0, 3)]), third.subarray(3));
    expect(seen()).toEqual(Buffer.concat([before, third.subarray(0, 3)]));
    expect(trips).toEqual([{ reason: 'budget', announcedBytes: 105, receivedBytes: 210, rows: 2, messageLimit: 1024 }]);
    expect(guard.trip).toEqual(trips[0]);
    expect(stream.destroyed).toBe(true);
    feed(message('D', 1));
    expect(seen().length).toBe(before.length + 3);
  });

  it('stops any message larger than the limit, rows or not, armed or not', () => {
    const idle = guarded(100);
    idle.feed(message('E', 500));
    expect(idle.guard.trip).toMatchObject({ reason: 'message', announcedBytes: 505, messageLimit: 100 });
    expect(idle.seen().length).toBe(0);
    const armed = guarded(100);
    armed.guard.arm(1000);
    armed.feed(message('E', 900), message('E', 1000));
    expect(armed.guard.trip).toMatchObject({ reason: 'message', announcedBytes: 1005, messageLimit: 1000 });
    expect(armed.seen().length).toBe(905);
  });

  it('catches what the driver throws while decoding and drops the connection', () => {
    const { stream, guard, feed } = guarded(1024, () => {
      throw new RangeError('Invalid string length');
    });
    expect(() => feed(message('D', 10))).not.toThrow();
    expect(guard.trip).toMatchObject({ reason: 'decode' });
    expect(stream.destroyed).toBe(true);
  });
});
