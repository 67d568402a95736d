import type { EventStore, JSONRPCMessage } from '@modelcontextprotocol/server';

/**
 * A session's SSE events, kept for resumption (`Last-Event-ID`). Bounded: past
 * `max` events the oldest are dropped, so a long session never grows without
 * limit; a client that resumes from a dropped event gets only what is left.
 * One store per session, released with it.
 */
export function boundedEventStore(max: number): EventStore {
  // Map keeps insertion order, which is the event order: the first key is the oldest.
  const events = new Map<string, { streamId: string; seq: number; message: JSONRPCMessage }>();
  let seq = 0;
  return {
    async storeEvent(streamId, message) {
      seq += 1;
      const id = `${streamId}_${seq}`;
      if (max === 0) return id;
      events.set(id, { streamId, seq, message });
      if (events.size > max) events.delete(events.keys().next().value!);
      return id;
    },
    async getStreamIdForEventId(eventId) {
      return events.get(eventId)?.streamId ?? streamOf(eventId);
    },
    async replayEventsAfter(lastEventId, { send }) {
      const streamId = events.get(lastEventId)?.streamId ?? streamOf(lastEventId);
      const after = Number(lastEventId.slice(lastEventId.lastIndexOf('_') + 1)) || 0;
      for (const [id, event] of [...events]) {
        if (event.streamId === streamId && event.seq > after) await send(id, event.message);
      }
      return streamId ?? '';
    },
  };
}

function streamOf(eventId: string): string | undefined {
  const cut = eventId.lastIndexOf('_');
  return cut > 0 ? eventId.slice(0, cut) : undefined;
}
