/**
 * Who is subscribed to which URI, both ways round, so that a session that ends
 * can drop all of its subscriptions at once.
 */
export class SubscriptionTable {
  readonly #byUri = new Map<string, Set<string>>();
  readonly #bySubscriber = new Map<string, Set<string>>();

  add(uri: string, subscriberId: string): void {
    link(this.#byUri, uri, subscriberId);
    link(this.#bySubscriber, subscriberId, uri);
  }

  delete(uri: string, subscriberId: string): boolean {
    unlink(this.#bySubscriber, subscriberId, uri);
    return unlink(this.#byUri, uri, subscriberId);
  }

  deleteSubscriber(subscriberId: string): number {
    const uris = this.#bySubscriber.get(subscriberId);
    if (!uris) return 0;
    for (const uri of uris) unlink(this.#byUri, uri, subscriberId);
    this.#bySubscriber.delete(subscriberId);
    return uris.size;
  }

  subscribers(uri: string): string[] {
    return [...(this.#byUri.get(uri) ?? [])];
  }
}

function link(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function unlink(map: Map<string, Set<string>>, key: string, value: string): boolean {
  const set = map.get(key);
  if (!set?.delete(value)) return false;
  if (set.size === 0) map.delete(key);
  return true;
}

/**
 * Calls every listener even when one throws, then rethrows: a failing listener
 * (one session's transport) must not keep the others from hearing of a change.
 */
export function emit<Args extends unknown[]>(listeners: Iterable<(...args: Args) => void>, ...args: Args): void {
  const errors: unknown[] = [];
  for (const listener of [...listeners]) {
    try {
      listener(...args);
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} listeners failed`);
}
