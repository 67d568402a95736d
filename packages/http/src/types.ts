import { serviceKey } from '@trellis/server';

/** Options of {@link HttpClient.request}. */
export interface HttpRequestOptions {
  /** Default `GET`. Only idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) are retried. */
  method?: 'GET' | 'HEAD' | 'OPTIONS' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Request headers. Framing and hop-by-hop headers (host, content-length, …) are the client's and are dropped. */
  headers?: Readonly<Record<string, string>>;
  body?: string | Uint8Array;
  /** Aborts the request (pass `ctx.signal`); the connection to the upstream is closed. */
  signal?: AbortSignal;
  /** A lower cap than the configured `HTTP_MAX_BYTES` (a higher one is ignored). */
  maxBytes?: number;
  /**
   * A body over the cap: `'error'` (default) throws `TooLargeError`, since half a JSON document
   * is useless to a program; `'truncate'` returns the first `maxBytes` with `truncated: true`.
   */
  overflow?: 'error' | 'truncate';
  /** Set false to bypass the GET cache for this call. Default true. */
  cache?: boolean;
}

/** A complete response (the body read up to the cap). Shared with other callers when cached: don't mutate it. */
export interface HttpResponse {
  /** The final URL, after redirects. */
  readonly url: string;
  readonly status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** True when the body was longer than the cap and cut (only with `overflow: 'truncate'`). */
  readonly truncated: boolean;
  /** The URLs that redirected, in order (empty when there was no redirect). */
  readonly redirects: readonly string[];
}

/** The configured limits, for callers that want to mention them. */
export interface HttpClientLimits {
  readonly maxBytes: number;
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  readonly retries: number;
}

/**
 * The HTTP client the plugin shares with plugins that depend on it: pooled connections, SSRF
 * protection, limits, retries and a GET cache, configured once by `HTTP_*` settings.
 *
 * @example
 * const http = ctx.service(HttpClientKey);
 * const response = await http.request('https://api.example.com/items', { signal: ctx.signal });
 * const items = JSON.parse(new TextDecoder().decode(response.body));
 */
export interface HttpClient {
  readonly limits: HttpClientLimits;
  /**
   * Fetches `url`, following redirects, and reads the body up to the cap.
   * Throws an `HttpError` subclass (`SSRF_BLOCKED`, `TIMEOUT`, `TOO_LARGE`, …) or, when
   * `signal` aborts, its reason. HTTP error statuses are responses, not errors.
   */
  request(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
}

/**
 * The service key of the shared {@link HttpClient}. List `'http'` in `dependsOn` to use it.
 *
 * @example
 * definePlugin({ name: 'weather', dependsOn: ['http'], setup(scope) {
 *   const http = scope.service(HttpClientKey);
 * } });
 */
export const HttpClientKey = serviceKey<HttpClient>('http.client');
