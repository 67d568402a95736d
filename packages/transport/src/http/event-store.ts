import type { EventStore, JSONRPCMessage, ServerEvent } from '@modelcontextprotocol/server';
import type { SharedSessionStore } from '@trellis/server';

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

/** The SDK transport's id for a session's GET stream. */
const GET_STREAM = '_GET_stream';

/**
 * A shared session's GET-stream event id: `g<P>` for the notification of the fleet's change `P`, or
 * `g<P>.<instance>.<n>` for the `n`th other message an instance sent on it after change `P`.
 */
const SHARED_EVENT_ID = /^g(\d{1,15})(?:\.([0-9a-f]{8})\.(\d{1,15}))?$/;

interface SharedStreamEvent {
  readonly position: number;
  /** 0 for a change's notification, else the instance's counter. */
  readonly n: number;
  readonly message: JSONRPCMessage;
}

export interface SharedStreamOptions {
  /** Events kept per stream; 0 turns resumption off. */
  max: number;
  /** Where a message sent now stands, and the changes kept after a position (a fleet's session store). */
  store: Pick<SharedSessionStore, 'streamPosition' | 'changesAfter'>;
  /** This instance, in the ids of the messages it sends that are no change (8 hex digits). */
  instanceTag: string;
  /** The notification the session hears of a change, if any (see `legacyChangeNotification`). */
  notificationOf(event: ServerEvent): JSONRPCMessage | undefined;
}

/**
 * The events of a session shared by a fleet. Its GET stream's event ids are
 * positions in the fleet's one order of changes (the outbox), so that a client
 * that reconnects with `Last-Event-ID` to any instance gets what it missed:
 * the changes committed after that position, read from the store (kept for
 * the outbox's retention, at most `max`), then the live ones. Messages that
 * are no change (rare on a GET stream) are kept here only, and replayed only
 * by this instance. Other streams (a POST's answers) are this instance's own,
 * in a bounded local store as without a fleet.
 */
export function sharedSessionEventStore(options: SharedStreamOptions): EventStore {
  const { max, store, instanceTag, notificationOf } = options;
  const local = boundedEventStore(max);
  // The GET stream's events sent here, in order; bounded like the local store.
  const sent = new Map<string, SharedStreamEvent>();
  let counter = 0;
  let lastExact = '';
  return {
    async storeEvent(streamId, message) {
      if (streamId !== GET_STREAM) return local.storeEvent(streamId, message);
      const position = store.streamPosition();
      let id = `g${position.change}`;
      let n = 0;
      // One change gives a session one notification: anything else sent meanwhile gets an id of its own.
      if (!position.exact || id === lastExact) {
        counter += 1;
        n = counter;
        id = `g${position.change}.${instanceTag}.${n}`;
      } else lastExact = id;
      if (max === 0) return id;
      sent.set(id, { position: position.change, n, message });
      if (sent.size > max) sent.delete(sent.keys().next().value!);
      return id;
    },
    async getStreamIdForEventId(eventId) {
      return SHARED_EVENT_ID.test(eventId) ? GET_STREAM : local.getStreamIdForEventId!(eventId);
    },
    async replayEventsAfter(lastEventId, { send }) {
      const parsed = SHARED_EVENT_ID.exec(lastEventId);
      if (!parsed) return local.replayEventsAfter(lastEventId, { send });
      const after = Number(parsed[1]);
      const afterTag = parsed[2];
      const afterN = parsed[3] === undefined ? 0 : Number(parsed[3]);
      const replay = new Map<string, SharedStreamEvent>();
      for (const change of await store.changesAfter(after, max)) {
        const message = notificationOf(change.event);
        if (message) replay.set(`g${change.position}`, { position: change.position, n: 0, message });
      }
      // Read after the store: what this instance sent meanwhile is here (the same ids: the SDK sends each once).
      for (const [id, event] of sent) {
        if (replay.has(id)) continue;
        const later =
          event.position > after ||
          (event.position === after &&
            event.n > 0 &&
            (afterTag === undefined || (afterTag === instanceTag && event.n > afterN)));
        if (later) replay.set(id, event);
      }
      const ordered = [...replay].sort(([, a], [, b]) => a.position - b.position || a.n - b.n);
      for (const [id, event] of ordered) await send(id, event.message);
      return GET_STREAM;
    },
  };
}
