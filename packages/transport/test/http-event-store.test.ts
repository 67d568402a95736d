import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import { boundedEventStore } from '../src/http/event-store.js';

const note = (n: number): JSONRPCMessage => ({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: 1, progress: n },
});

describe('boundedEventStore', () => {
  it('replays the events of one stream after the given id', async () => {
    const store = boundedEventStore(10);
    const a1 = await store.storeEvent('a', note(1));
    await store.storeEvent('b', note(2));
    await store.storeEvent('a', note(3));
    const replayed: unknown[] = [];
    const stream = await store.replayEventsAfter(a1, { send: async (_id, message) => void replayed.push(message) });
    expect(stream).toBe('a');
    expect(replayed).toEqual([note(3)]);
    expect(await store.getStreamIdForEventId!(a1)).toBe('a');
  });

  it('keeps at most `max` events, dropping the oldest', async () => {
    const store = boundedEventStore(2);
    const first = await store.storeEvent('a', note(1));
    await store.storeEvent('a', note(2));
    await store.storeEvent('a', note(3));
    await store.storeEvent('a', note(4));
    const replayed: unknown[] = [];
    await store.replayEventsAfter(first, { send: async (_id, message) => void replayed.push(message) });
    expect(replayed).toEqual([note(3), note(4)]);
  });
});
