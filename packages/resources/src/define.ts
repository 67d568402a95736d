import type {
  Annotations,
  CacheHint,
  Icon,
  ReadResourceResult,
  Resource,
  Variables,
} from '@modelcontextprotocol/server';

/**
 * What a read handler returns: a string (one text item), bytes (one base64
 * blob), or the full `contents` array of a `resources/read` result.
 */
export type ResourceReturn = string | Uint8Array | ReadResourceResult['contents'];

/** A concrete resource as it appears in `resources/list`. */
export type ResourceEntry = Resource;

/** The arguments already filled in by the client, sent along with a completion request. */
export interface CompletionContext {
  arguments?: Record<string, string>;
}

/**
 * Suggests values for one argument from what the user has typed so far.
 * Return at most a few hundred values; only the first 100 are sent.
 * @example const language: Completer<RequestContext> = (value) => ['en', 'de', 'fr'].filter((l) => l.startsWith(value));
 */
export type Completer<Ctx> = (value: string, context: CompletionContext, ctx: Ctx) => string[] | Promise<string[]>;

/** What a `completion/complete` answers: up to 100 values, and how many there are in all. */
export interface CompletionValues {
  values: string[];
  total?: number;
  hasMore?: boolean;
}

/** A resource at one fixed URI, as a plugin declares it. `Ctx` is the request context the server builds. */
export interface ResourceSpec<Ctx> {
  /** The resource's URI (`scheme://…`); must not contain template expressions. */
  uri: string;
  name: string;
  title?: string;
  description?: string;
  /** The MIME type of what `read` returns; defaults to text/plain for strings and application/octet-stream for bytes. */
  mimeType?: string;
  /** Size in bytes, if known, so clients can judge context use. */
  size?: number;
  annotations?: Annotations;
  icons?: Icon[];
  _meta?: Record<string, unknown>;
  /** 2026-07-28 caching hint for this resource's `resources/read` results. */
  cacheHint?: CacheHint;
  read(ctx: Ctx): ResourceReturn | Promise<ResourceReturn>;
}

/** A family of resources under an RFC 6570 URI template, as a plugin declares it. */
export interface ResourceTemplateSpec<Ctx> {
  /** An RFC 6570 template such as `notes://{id}` or `file:///{+path}`. */
  uriTemplate: string;
  name: string;
  title?: string;
  description?: string;
  /** The MIME type of what `read` returns, when one type fits every URI. */
  mimeType?: string;
  annotations?: Annotations;
  icons?: Icon[];
  _meta?: Record<string, unknown>;
  /** 2026-07-28 caching hint for `resources/read` results of URIs this template matches. */
  cacheHint?: CacheHint;
  /** Completers for the template's variables, keyed by variable name. */
  complete?: Record<string, Completer<Ctx>>;
  /** The concrete resources the template has now; they are included in `resources/list`. */
  list?(ctx: Ctx): ResourceEntry[] | Promise<ResourceEntry[]>;
  /**
   * Reads one URI the template matched. `variables` are percent-decoded once;
   * the raw `uri` is there for handlers that must inspect the encoding.
   */
  read(uri: string, variables: Variables, ctx: Ctx): ResourceReturn | Promise<ResourceReturn>;
}

/** Two registrations of one URI or one URI template. */
export class ResourceClashError extends Error {
  readonly code = 'RESOURCE_CLASH';
  constructor(
    readonly kind: 'resource' | 'template',
    /** The URI or URI template registered twice. */
    readonly key: string,
    readonly existingOwner: string,
    readonly newOwner: string,
  ) {
    super(
      `${kind === 'resource' ? 'resource' : 'resource template'} "${key}" is registered by both "${existingOwner}" and "${newOwner}"; change one or mount a plugin with a prefix`,
    );
    this.name = 'ResourceClashError';
  }
}
