import { anySignal, KeyedSemaphore, sleep, TtlCache } from '@trellis/concurrency';
import type { Logger } from '@trellis/server';
import { Agent, type Dispatcher } from 'undici';
import { readCapped } from './body.js';
import {
  ConnectionFailedError,
  connectionFailureCode,
  HeadersTooLargeError,
  HttpClosedError,
  HttpError,
  HttpTimeoutError,
  SsrfBlockedError,
  TooLargeError,
  TooManyRedirectsError,
} from './errors.js';
import { AT_CONNECT, type DestinationPolicy } from './policy.js';
import { backoffMs, isConnectionError, isIdempotent, isRetryableStatus, retryAfterMs } from './retry.js';
import { observeConnections, traceExchange } from './tracing.js';
import type { HttpClient, HttpClientLimits, HttpRequestOptions, HttpResponse } from './types.js';

/** Everything the client needs; the plugin builds it from the configuration. */
export interface HttpClientSettings extends HttpClientLimits {
  policy: DestinationPolicy;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  retryMaxDelayMs: number;
  perHostConcurrency: number;
  cacheTtlMs: number;
  cacheMaxEntries: number;
  userAgent: string;
  log?: Logger;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers the client owns: framing, hop-by-hop, and encodings it would not decode. */
const DROPPED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'accept-encoding',
  'proxy-connection',
]);
/** Credentials that must not follow a redirect to another origin. */
const ORIGIN_BOUND_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/** Thrown through the cache so that a response that must not be cached reaches every waiter. */
class Uncached {
  constructor(readonly response: HttpResponse) {}
}

interface Hop {
  response: Dispatcher.ResponseData;
  release(): void;
}

interface Attempt {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  signal: AbortSignal;
  deadline: number;
}

/**
 * The pooled HTTP client behind the plugin's service and tools: one undici `Agent` whose
 * connector enforces the destination policy, per-host limits, retries, redirects followed by
 * hand (each hop checked), a streamed size cap and a single-flight TTL cache for GETs.
 */
export class PooledHttpClient implements HttpClient {
  readonly limits: HttpClientLimits;
  readonly #settings: HttpClientSettings;
  readonly #agent: Agent;
  readonly #perHost: KeyedSemaphore<string>;
  readonly #cache: TtlCache<string, HttpResponse> | undefined;
  readonly #closing = new AbortController();
  readonly #unobserve: () => void;

  constructor(settings: HttpClientSettings) {
    this.#settings = settings;
    this.limits = {
      maxBytes: settings.maxBytes,
      timeoutMs: settings.timeoutMs,
      maxRedirects: settings.maxRedirects,
      retries: settings.retries,
    };
    this.#agent = new Agent({
      connect: settings.policy.connector({ timeoutMs: settings.connectTimeoutMs }),
      headersTimeout: settings.headersTimeoutMs,
      bodyTimeout: settings.bodyTimeoutMs,
    });
    this.#perHost = new KeyedSemaphore(settings.perHostConcurrency);
    this.#cache =
      settings.cacheTtlMs > 0
        ? new TtlCache({ ttlMs: settings.cacheTtlMs, maxEntries: settings.cacheMaxEntries })
        : undefined;
    // Pool usage for telemetry (a no-op unless an app set it up).
    this.#unobserve = observeConnections(() => this.#agent.stats);
  }

  async request(input: string | URL, options: HttpRequestOptions = {}): Promise<HttpResponse> {
    if (this.#closing.signal.aborted) throw new HttpClosedError(String(input));
    const url = this.#settings.policy.checkUrl(input);
    const method = (options.method ?? 'GET').toUpperCase();
    const headers = this.#headers(options.headers);
    const maxBytes = Math.min(options.maxBytes ?? this.limits.maxBytes, this.limits.maxBytes);
    const overflow = options.overflow ?? 'error';
    const fetchOnce = (signal: AbortSignal | undefined) =>
      this.#fetch(url, method, headers, options.body, maxBytes, overflow, signal);
    if (!this.#cache || options.cache === false || method !== 'GET' || options.body !== undefined)
      return fetchOnce(options.signal);
    const key = JSON.stringify([
      url.href,
      maxBytes,
      overflow,
      Object.entries(headers).sort(([a], [b]) => (a < b ? -1 : 1)),
    ]);
    try {
      return await this.#cache.get(
        key,
        async (signal) => {
          const response = await fetchOnce(signal);
          if (!isCacheable(response)) throw new Uncached(response);
          return response;
        },
        options.signal ? { signal: options.signal } : {},
      );
    } catch (error) {
      if (error instanceof Uncached) return error.response;
      throw error;
    }
  }

  /** Aborts every request in flight, then closes the pooled connections. */
  async close(): Promise<void> {
    this.#closing.abort(new HttpClosedError('(in flight)'));
    this.#unobserve();
    this.#cache?.clear();
    await this.#agent.destroy();
  }

  #headers(given: Readonly<Record<string, string>> | undefined): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': this.#settings.userAgent };
    for (const [name, value] of Object.entries(given ?? {})) {
      const lower = name.toLowerCase();
      if (!DROPPED_HEADERS.has(lower) && !lower.startsWith('proxy-')) headers[lower] = value;
    }
    headers['accept-encoding'] = 'identity';
    return headers;
  }

  async #fetch(
    url: URL,
    firstMethod: string,
    firstHeaders: Record<string, string>,
    firstBody: string | Uint8Array | undefined,
    maxBytes: number,
    overflow: 'error' | 'truncate',
    callerSignal: AbortSignal | undefined,
  ): Promise<HttpResponse> {
    const { timeoutMs, maxRedirects } = this.limits;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new HttpTimeoutError(url.href, 'total', timeoutMs)), timeoutMs);
    const linked = anySignal([callerSignal, deadline.signal, this.#closing.signal]);
    const attempt: Attempt = {
      url,
      method: firstMethod,
      headers: firstHeaders,
      body: firstBody,
      signal: linked.signal,
      deadline: Date.now() + timeoutMs,
    };
    const chain: string[] = [];
    try {
      for (;;) {
        const hop = await this.#send(attempt);
        const { statusCode, headers: raw, body } = hop.response;
        const location = header(raw, 'location');
        if (REDIRECTS.has(statusCode) && location !== undefined) {
          await body.dump().catch(() => undefined);
          hop.release();
          chain.push(attempt.url.href);
          if (chain.length > maxRedirects) throw new TooManyRedirectsError(url.href, maxRedirects, chain);
          this.#redirect(attempt, statusCode, location);
          continue;
        }
        try {
          const headers = flattenHeaders(raw);
          const declared = Number(headers['content-length']);
          if (overflow === 'error' && declared > maxBytes) throw new TooLargeError(attempt.url.href, maxBytes);
          const { bytes, truncated } = await readCapped(body, maxBytes);
          if (truncated && overflow === 'error') throw new TooLargeError(attempt.url.href, maxBytes);
          this.#settings.log?.debug(
            {
              method: attempt.method,
              url: safeUrl(attempt.url),
              status: statusCode,
              bytes: bytes.byteLength,
              truncated,
            },
            'http fetch',
          );
          return { url: attempt.url.href, status: statusCode, headers, body: bytes, truncated, redirects: chain };
        } finally {
          if (!body.destroyed) body.destroy();
          hop.release();
        }
      }
    } catch (error) {
      throw this.#translate(error, attempt, callerSignal);
    } finally {
      clearTimeout(timer);
      linked.dispose();
    }
  }

  /** Points `attempt` at the redirect target, checked like a first URL. */
  #redirect(attempt: Attempt, status: number, location: string): void {
    const next = this.#settings.policy.checkUrl(location, attempt.url);
    if (status === 303 || ((status === 301 || status === 302) && attempt.method === 'POST')) {
      attempt.method = attempt.method === 'HEAD' ? 'HEAD' : 'GET';
      attempt.body = undefined;
    }
    if (next.origin !== attempt.url.origin) {
      attempt.headers = { ...attempt.headers };
      for (const name of ORIGIN_BOUND_HEADERS) delete attempt.headers[name];
    }
    attempt.url = next;
  }

  /** One hop, retried on connection errors, 429 and 503 when the method is idempotent. */
  async #send(attempt: Attempt): Promise<Hop> {
    const { retries } = this.limits;
    const { retryMaxDelayMs } = this.#settings;
    const retryable = isIdempotent(attempt.method);
    for (let tries = 0; ; tries++) {
      const release = await this.#perHost.acquire(attempt.url.host, { signal: attempt.signal });
      let response: Dispatcher.ResponseData;
      try {
        response = await traceExchange(attempt.method, attempt.url, attempt.signal, () =>
          this.#agent.request({
            origin: attempt.url.origin,
            path: `${attempt.url.pathname}${attempt.url.search}`,
            method: attempt.method as Dispatcher.HttpMethod,
            headers: attempt.headers,
            body: attempt.body ?? null,
            signal: attempt.signal,
          }),
        );
      } catch (error) {
        release();
        if (attempt.signal.aborted || !retryable || tries >= retries || !isConnectionError(error)) {
          throw isConnectionError(error) && !attempt.signal.aborted
            ? this.#connectionFailure(attempt, tries + 1, error)
            : error;
        }
        const wait = backoffMs(tries, retryMaxDelayMs);
        if (Date.now() + wait >= attempt.deadline) throw this.#connectionFailure(attempt, tries + 1, error);
        this.#settings.log?.debug(
          { url: safeUrl(attempt.url), attempt: tries + 1, waitMs: wait, err: error },
          'http retry after connection error',
        );
        await sleep(wait, { signal: attempt.signal });
        continue;
      }
      if (retryable && tries < retries && isRetryableStatus(response.statusCode)) {
        const asked = retryAfterMs(header(response.headers, 'retry-after'));
        const wait = asked ?? backoffMs(tries, retryMaxDelayMs);
        if (wait <= retryMaxDelayMs && Date.now() + wait < attempt.deadline) {
          await response.body.dump().catch(() => undefined);
          release();
          this.#settings.log?.debug(
            { url: safeUrl(attempt.url), status: response.statusCode, attempt: tries + 1, waitMs: wait },
            'http retry',
          );
          await sleep(wait, { signal: attempt.signal });
          continue;
        }
      }
      return { response, release };
    }
  }

  #connectionFailure(attempt: Attempt, attempts: number, error: unknown): Error {
    if ((error as { code?: unknown }).code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new HttpTimeoutError(attempt.url.href, 'connect', this.#settings.connectTimeoutMs, { cause: error });
    }
    return new ConnectionFailedError(attempt.url.href, attempts, error);
  }

  /** Names an undici failure in this package's terms; an abort rethrows its reason. */
  #translate(error: unknown, attempt: Attempt, callerSignal: AbortSignal | undefined): unknown {
    if (callerSignal?.aborted) return callerSignal.reason;
    if (this.#closing.signal.aborted) return new HttpClosedError(attempt.url.href);
    if (attempt.signal.aborted) return attempt.signal.reason; // the total deadline
    if (error instanceof SsrfBlockedError && error.url === AT_CONNECT) {
      return new SsrfBlockedError(attempt.url.href, error.host, error.address, error.kind);
    }
    if (error instanceof HttpError) return error;
    const code = (error as { code?: unknown }).code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT')
      return new HttpTimeoutError(attempt.url.href, 'headers', this.#settings.headersTimeoutMs, { cause: error });
    if (code === 'UND_ERR_BODY_TIMEOUT')
      return new HttpTimeoutError(attempt.url.href, 'body', this.#settings.bodyTimeoutMs, { cause: error });
    if (code === 'UND_ERR_HEADERS_OVERFLOW') return new HeadersTooLargeError(attempt.url.href, { cause: error });
    // DNS and TLS failures are not worth a retry, but they have names.
    if (isConnectionError(error) || connectionFailureCode(error) !== 'CONNECTION_FAILED')
      return new ConnectionFailedError(attempt.url.href, 1, error);
    return error;
  }
}

function isCacheable(response: HttpResponse): boolean {
  const cacheControl = response.headers['cache-control'] ?? '';
  return response.status >= 200 && response.status < 300 && !/\b(no-store|private)\b/i.test(cacheControl);
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function flattenHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** A URL for logs: no query string, which often carries tokens. */
function safeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}
