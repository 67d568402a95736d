import {
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  type CacheHint,
  type ListResourcesResult,
  type ListResourceTemplatesResult,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplateType,
  type UriTemplate,
  type Variables,
} from '@modelcontextprotocol/server';
import { toContents } from './contents.js';
import {
  ResourceClashError,
  type CompletionContext,
  type CompletionValues,
  type ResourceSpec,
  type ResourceTemplateSpec,
} from './define.js';
import { FileAccessError } from './file-error.js';
import { assertPageSize, paginate } from './paging.js';
import { emit, SubscriptionTable } from './subscriptions.js';
import { assertResourceSpec, compileTemplate } from './validate.js';

interface RegisteredResource<Ctx> {
  spec: ResourceSpec<Ctx>;
  owner: string;
  listing: Resource;
}

interface RegisteredTemplate<Ctx> {
  spec: ResourceTemplateSpec<Ctx>;
  owner: string;
  template: UriTemplate;
  listing: ResourceTemplateType;
}

export interface ResourceRegistryOptions {
  /** Entries per page of `resources/list` and `resources/templates/list`; default 100. */
  pageSize?: number;
}

/**
 * Told that `uri` changed, with the subscribers to tell. `subscriberIds` may be
 * empty: a listener that bridges instances forwards the change regardless.
 */
export type ResourceUpdatedListener = (uri: string, subscriberIds: string[]) => void;

/** The most values one completion answer carries (the spec's limit). */
const MAX_COMPLETIONS = 100;

/**
 * The resources of one server: built once, shared by every session and
 * request. Static resources are matched first, then templates in the order
 * they were added. Subscriptions are kept per subscriber id (a session, or a
 * 2026-07-28 listen stream) so the server can fan out `updated` notifications.
 * @example
 * const resources = new ResourceRegistry<RequestContext>();
 * resources.add({ uri: 'notes://today', name: 'today', read: () => 'Buy milk' }, 'notes');
 * const result = await resources.read('notes://today', ctx);
 */
export class ResourceRegistry<Ctx extends { signal: AbortSignal }> {
  readonly #resources = new Map<string, RegisteredResource<Ctx>>();
  readonly #templates = new Map<string, RegisteredTemplate<Ctx>>();
  readonly #subscriptions = new SubscriptionTable();
  readonly #listListeners = new Set<() => void>();
  readonly #updateListeners = new Set<ResourceUpdatedListener>();
  readonly #pageSize: number;

  constructor(options: ResourceRegistryOptions = {}) {
    this.#pageSize = assertPageSize(options.pageSize ?? 100);
  }

  /** Registers a resource at a fixed URI; a URI already taken throws `ResourceClashError` naming both owners. */
  add(spec: ResourceSpec<Ctx>, owner = 'app'): void {
    assertResourceSpec(spec as ResourceSpec<unknown>);
    const existing = this.#resources.get(spec.uri);
    if (existing) throw new ResourceClashError('resource', spec.uri, existing.owner, owner);
    const listing: Resource = {
      uri: spec.uri,
      name: spec.name,
      ...pick(spec, ['title', 'description', 'mimeType', 'size', 'annotations', 'icons', '_meta']),
    };
    this.#resources.set(spec.uri, { spec, owner, listing });
    this.notifyListChanged();
  }

  /** Registers a URI template; the same template string twice throws `ResourceClashError`. */
  addTemplate(spec: ResourceTemplateSpec<Ctx>, owner = 'app'): void {
    const template = compileTemplate(spec as ResourceTemplateSpec<unknown>);
    const existing = this.#templates.get(spec.uriTemplate);
    if (existing) throw new ResourceClashError('template', spec.uriTemplate, existing.owner, owner);
    const listing: ResourceTemplateType = {
      uriTemplate: spec.uriTemplate,
      name: spec.name,
      ...pick(spec, ['title', 'description', 'mimeType', 'annotations', 'icons', '_meta']),
    };
    this.#templates.set(spec.uriTemplate, { spec, owner, template, listing });
    this.notifyListChanged();
  }

  /** Removes a fixed-URI resource; returns whether it was there. */
  remove(uri: string): boolean {
    const removed = this.#resources.delete(uri);
    if (removed) this.notifyListChanged();
    return removed;
  }

  /** Removes a template by its template string; returns whether it was there. */
  removeTemplate(uriTemplate: string): boolean {
    const removed = this.#templates.delete(uriTemplate);
    if (removed) this.notifyListChanged();
    return removed;
  }

  /**
   * The owner of what serves `uri`: its fixed resource, else the first template
   * matching it. A template string gives its template's owner.
   */
  ownerOf(uriOrTemplate: string): string | undefined {
    return (
      this.#resources.get(uriOrTemplate)?.owner ??
      this.#templates.get(uriOrTemplate)?.owner ??
      this.#match(uriOrTemplate)?.entry.owner
    );
  }

  /** Whether `read(uri)` would reach a handler: a fixed URI, or one some template matches. */
  matches(uri: string): boolean {
    return this.#resources.has(uri) || this.#match(uri) !== undefined;
  }

  /**
   * One page of `resources/list`: fixed resources in registration order, then
   * what each template's `list` returns (asked all at once). Duplicate URIs
   * are listed once.
   */
  async list(cursor: string | undefined, ctx: Ctx): Promise<ListResourcesResult> {
    const all: Resource[] = [];
    const seen = new Set<string>();
    const push = (entry: Resource) => {
      if (seen.has(entry.uri)) return;
      seen.add(entry.uri);
      all.push(entry);
    };
    for (const { listing } of this.#resources.values()) push(listing);
    ctx.signal.throwIfAborted();
    const templates = [...this.#templates.values()].map((t) => t.spec);
    const listed = await Promise.all(templates.map((spec) => spec.list?.(ctx) ?? []));
    templates.forEach((spec, i) => {
      for (const entry of listed[i]!) {
        push(
          spec.mimeType !== undefined && entry.mimeType === undefined ? { ...entry, mimeType: spec.mimeType } : entry,
        );
      }
    });
    const page = paginate(all, cursor, this.#pageSize, 'resources/list');
    return { resources: page.items, ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) };
  }

  /** One page of `resources/templates/list`, in registration order. */
  listTemplates(cursor?: string): ListResourceTemplatesResult {
    const all = [...this.#templates.values()].map((t) => t.listing);
    const page = paginate(all, cursor, this.#pageSize, 'resources/templates/list');
    return { resourceTemplates: page.items, ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) };
  }

  /**
   * Runs one `resources/read`. An unknown URI throws the SDK's
   * `ResourceNotFoundError` (the SDK encodes it as each protocol era expects);
   * a `FileAccessError` becomes not-found (`NOT_FOUND`) or invalid params.
   */
  async read(uri: string, ctx: Ctx): Promise<ReadResourceResult> {
    const resource = this.#resources.get(uri);
    if (resource) {
      const returned = await guard(uri, () => resource.spec.read(ctx));
      return { contents: toContents(uri, returned, resource.spec.mimeType) };
    }
    const found = this.#match(uri);
    if (!found) throw new ResourceNotFoundError(uri);
    const variables = decodeVariables(uri, found.variables);
    const returned = await guard(uri, () => found.entry.spec.read(uri, variables, ctx));
    return { contents: toContents(uri, returned, found.entry.spec.mimeType) };
  }

  /**
   * The cache hint for `resources/read` of `uri` (from its resource or the
   * template that matches it), for the server to put on 2026-07-28 results.
   */
  cacheHintFor(uri: string): CacheHint | undefined {
    return this.#resources.get(uri)?.spec.cacheHint ?? this.#match(uri)?.entry.spec.cacheHint;
  }

  /**
   * Completes one variable of a template (`completion/complete` with a
   * `ref/resource`). An unknown template or variable is an invalid-params
   * error; a variable without a completer gets no values.
   */
  async complete(
    uriTemplate: string,
    argName: string,
    value: string,
    context: CompletionContext,
    ctx: Ctx,
  ): Promise<CompletionValues> {
    const entry = this.#templates.get(uriTemplate);
    if (!entry)
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown resource template: ${uriTemplate}`, {
        uriTemplate,
      });
    if (!entry.template.variableNames.includes(argName)) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Resource template "${uriTemplate}" has no variable "${argName}" (its variables: ${entry.template.variableNames.join(', ')})`,
        { uriTemplate, argument: argName },
      );
    }
    const completer = entry.spec.complete?.[argName];
    if (!completer) return { values: [] };
    return capCompletions(await completer(value, context, ctx));
  }

  /** Subscribes `subscriberId` (a session or listen stream) to changes of `uri`. */
  subscribe(uri: string, subscriberId: string): void {
    this.#subscriptions.add(uri, subscriberId);
  }

  /** Returns whether the subscription existed. */
  unsubscribe(uri: string, subscriberId: string): boolean {
    return this.#subscriptions.delete(uri, subscriberId);
  }

  /** Drops every subscription of one subscriber (its session closed); returns how many. */
  unsubscribeAll(subscriberId: string): number {
    return this.#subscriptions.deleteSubscriber(subscriberId);
  }

  subscribersOf(uri: string): string[] {
    return this.#subscriptions.subscribers(uri);
  }

  /** Tells the update listeners that `uri` changed, with the ids subscribed to it. */
  notifyUpdated(uri: string): void {
    emit(this.#updateListeners, uri, this.#subscriptions.subscribers(uri));
  }

  /**
   * Tells the list listeners that the list changed. Called on every add and
   * remove; call it yourself when what a template's `list` returns changes.
   */
  notifyListChanged(): void {
    emit(this.#listListeners);
  }

  /** Listens for list changes (for `notifications/resources/list_changed`). */
  onListChanged(listener: () => void): () => void {
    this.#listListeners.add(listener);
    return () => this.#listListeners.delete(listener);
  }

  /** Listens for resource updates (for `notifications/resources/updated`). */
  onUpdated(listener: ResourceUpdatedListener): () => void {
    this.#updateListeners.add(listener);
    return () => this.#updateListeners.delete(listener);
  }

  #match(uri: string): { entry: RegisteredTemplate<Ctx>; variables: Variables } | undefined {
    for (const entry of this.#templates.values()) {
      let variables: Variables | null;
      try {
        variables = entry.template.match(uri);
      } catch {
        variables = null; // the SDK refuses URIs over its length limit
      }
      if (variables) return { entry, variables };
    }
    return undefined;
  }
}

/** At most 100 values, with the total when there were more. */
export function capCompletions(values: readonly string[]): CompletionValues {
  if (values.length <= MAX_COMPLETIONS) return { values: [...values] };
  return { values: values.slice(0, MAX_COMPLETIONS), total: values.length, hasMore: true };
}

async function guard<T>(uri: string, read: () => T | Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof FileAccessError) {
      if (error.code === 'NOT_FOUND') throw new ResourceNotFoundError(uri, error.message);
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, error.message, { uri, reason: error.code });
    }
    throw error;
  }
}

function decodeVariables(uri: string, variables: Variables): Variables {
  const decode = (value: string) => {
    try {
      return decodeURIComponent(value);
    } catch {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Malformed percent-encoding in ${uri}`, { uri });
    }
  };
  const out: Variables = {};
  for (const [name, value] of Object.entries(variables))
    out[name] = Array.isArray(value) ? value.map(decode) : decode(value);
  return out;
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (source[key] !== undefined) out[key] = source[key];
  return out;
}
