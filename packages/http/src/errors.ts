/**
 * Errors of `@trellis/http`. They stay local (never cross the wire as protocol errors): each
 * is a class with a stable string `code`, a message that names the URL and the problem, and
 * the data needed to act on it. The tools turn them into `isError` results.
 */

/** Every code an {@link HttpError} can carry. */
export type HttpErrorCode =
  | 'INVALID_URL'
  | 'UNSUPPORTED_SCHEME'
  | 'SSRF_BLOCKED'
  | 'TIMEOUT'
  | 'TOO_LARGE'
  | 'TOO_MANY_REDIRECTS'
  | 'CONNECTION_FAILED'
  | 'CLOSED';

/**
 * The base of every error this package throws; `url` is the URL being fetched when it failed.
 *
 * @example
 * try { await http.request(url, { signal }); }
 * catch (error) { if (error instanceof HttpError) return `${error.code}: ${error.message}`; throw error; }
 */
export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly url: string;

  constructor(code: HttpErrorCode, url: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpError';
    this.code = code;
    this.url = url;
  }
}

/** The text is not an absolute URL, or carries credentials (`user:pass@`), which are refused. */
export class InvalidUrlError extends HttpError {
  constructor(url: string, detail: string) {
    super('INVALID_URL', url, `invalid URL ${JSON.stringify(url)}: ${detail}`);
    this.name = 'InvalidUrlError';
  }
}

/** Only `http:` and `https:` are fetched (no `file:`, `ftp:`, `data:`, `gopher:`…). */
export class UnsupportedSchemeError extends HttpError {
  readonly scheme: string;

  constructor(url: string, scheme: string) {
    super('UNSUPPORTED_SCHEME', url, `refused ${url}: scheme "${scheme}" is not fetched (only http: and https:)`);
    this.name = 'UnsupportedSchemeError';
    this.scheme = scheme;
  }
}

/**
 * The destination is not public (loopback, private, link-local, …), by its literal address or
 * by an address its name resolved to, and it is not on the allow-list. Thrown before any
 * connection is made.
 *
 * @example
 * if (error instanceof SsrfBlockedError) log.warn({ host: error.host, kind: error.kind }, 'blocked');
 */
export class SsrfBlockedError extends HttpError {
  /** The host as given in the URL (or met at connect time). */
  readonly host: string;
  /** The offending address (the host itself for a literal, else what it resolved to). */
  readonly address: string;
  /** What kind of address it is, e.g. `loopback (127.0.0.0/8)`. */
  readonly kind: string;

  constructor(url: string, host: string, address: string, kind: string) {
    const via = host === address ? `${address}` : `${host} resolves to ${address}, which`;
    super(
      'SSRF_BLOCKED',
      url,
      `refused ${url}: ${via} is a non-public address (${kind}); only public destinations are fetched unless the host is in HTTP_ALLOW_HOSTS`,
    );
    this.name = 'SsrfBlockedError';
    this.host = host;
    this.address = address;
    this.kind = kind;
  }
}

/** Which part of a request ran out of time. */
export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'total';

const PHASE_TEXT: Record<TimeoutPhase, string> = {
  connect: 'connecting (TCP/TLS) took longer than',
  headers: 'the response headers did not arrive within',
  body: 'the response body stalled (no data) for',
  total: 'the whole request (redirects and retries included) took longer than',
};

/**
 * A phase of the request passed its deadline.
 *
 * @example
 * if (error instanceof HttpTimeoutError && error.phase === 'connect') hint('is the host up?');
 */
export class HttpTimeoutError extends HttpError {
  readonly phase: TimeoutPhase;
  readonly limitMs: number;

  constructor(url: string, phase: TimeoutPhase, limitMs: number, options?: { cause?: unknown }) {
    super('TIMEOUT', url, `timed out fetching ${url}: ${PHASE_TEXT[phase]} ${limitMs} ms`, options);
    this.name = 'HttpTimeoutError';
    this.phase = phase;
    this.limitMs = limitMs;
  }
}

/** The body is larger than the cap (only with `overflow: 'error'`; tools truncate instead). */
export class TooLargeError extends HttpError {
  readonly limitBytes: number;

  constructor(url: string, limitBytes: number) {
    super('TOO_LARGE', url, `response of ${url} is larger than the limit of ${limitBytes} bytes (HTTP_MAX_BYTES)`);
    this.name = 'TooLargeError';
    this.limitBytes = limitBytes;
  }
}

/** More redirects than allowed; `chain` lists every URL visited. */
export class TooManyRedirectsError extends HttpError {
  readonly limit: number;
  readonly chain: readonly string[];

  constructor(url: string, limit: number, chain: readonly string[]) {
    super('TOO_MANY_REDIRECTS', url, `too many redirects fetching ${url}: more than ${limit} (HTTP_MAX_REDIRECTS); last hop ${chain.at(-1) ?? url}`);
    this.name = 'TooManyRedirectsError';
    this.limit = limit;
    this.chain = chain;
  }
}

/** The connection failed (refused, reset, DNS failure…) on every attempt; `cause` is the last error. */
export class ConnectionFailedError extends HttpError {
  readonly attempts: number;

  constructor(url: string, attempts: number, cause: unknown) {
    const detail = describeCause(cause);
    super('CONNECTION_FAILED', url, `could not fetch ${url}: ${detail} (${attempts} attempt${attempts === 1 ? '' : 's'})`, { cause });
    this.name = 'ConnectionFailedError';
    this.attempts = attempts;
  }
}

/** The client was used after the plugin closed (server shutdown). */
export class HttpClosedError extends HttpError {
  constructor(url: string) {
    super('CLOSED', url, `refused ${url}: the HTTP client is closed (the server is shutting down)`);
    this.name = 'HttpClosedError';
  }
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
}
