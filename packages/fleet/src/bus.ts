import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import type { Logger } from '@trellis/server';
import type { OutboxWriter } from './outbox.js';

/**
 * The SDK's `ServerEventBus` over PostgreSQL: `publish` commits the event to
 * the outbox (queued, retried while the database is away); every instance,
 * this one included, hears it from the outbox and hands it to its
 * subscribers — the core's change feed (older-protocol sessions, stdio,
 * resource subscribers) and the SDK's `subscriptions/listen` router.
 */
export class FleetEventBus implements ServerEventBus {
  readonly #writer: OutboxWriter;
  readonly #log: Logger;
  readonly #listeners = new Set<(event: ServerEvent) => void>();

  constructor(writer: OutboxWriter, log: Logger) {
    this.#writer = writer;
    this.#log = log;
  }

  publish(event: ServerEvent): void {
    this.#writer.publish({ type: 'change', event });
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** An event read from the outbox, to this instance's subscribers. */
  deliver(event: ServerEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#log.warn({ err: error }, 'a fleet change listener failed');
      }
    }
  }
}
