import { maxHeaderSize } from 'node:http';

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
  | ConnectionFailureCode
  | 'HEADERS_TOO_LARGE'
  | 'DEADLINE'
  | 'CLOSED';

/** The named causes of a failed connection; `CONNECTION_FAILED` is any other (reset, unreachable…). */
export type ConnectionFailureCode = 'DNS_FAILED' | 'CONNECTION_REFUSED' | 'TLS_FAILED';

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
    super(
      'TOO_MANY_REDIRECTS',
      url,
      `too many redirects fetching ${url}: more than ${limit} (HTTP_MAX_REDIRECTS); last hop ${chain.at(-1) ?? url}`,
    );
    this.name = 'TooManyRedirectsError';
    this.limit = limit;
    this.chain = chain;
  }
}

/**
 * The connection failed on every attempt; `cause` is the last error. The code names the cause
 * when it is known: `DNS_FAILED` (the host name does not resolve), `CONNECTION_REFUSED`
 * (nothing listens on that port), `TLS_FAILED` (handshake or certificate), else
 * `CONNECTION_FAILED` (reset, unreachable…).
 *
 * @example
 * if (error instanceof ConnectionFailedError && error.code === 'DNS_FAILED') hint('check the host name');
 */
export class ConnectionFailedError extends HttpError {
  readonly attempts: number;

  constructor(url: string, attempts: number, cause: unknown) {
    const code = connectionFailureCode(cause);
    const detail = describeCause(cause);
    const what =
      code === 'DNS_FAILED'
        ? `the host name ${hostOf(url)} could not be resolved`
        : code === 'CONNECTION_REFUSED'
          ? `the connection to ${hostOf(url, true)} was refused`
          : code === 'TLS_FAILED'
            ? 'the TLS handshake failed'
            : undefined;
    super(
      code,
      url,
      `could not fetch ${url}: ${what ? `${what} (${detail})` : detail} (${attempts} attempt${attempts === 1 ? '' : 's'})`,
      { cause },
    );
    this.name = 'ConnectionFailedError';
    this.attempts = attempts;
  }
}

/** The response headers are larger than the client accepts (an upstream gone wrong, or hostile). */
export class HeadersTooLargeError extends HttpError {
  constructor(url: string, options?: { cause?: unknown }) {
    super(
      'HEADERS_TOO_LARGE',
      url,
      `refused the response of ${url}: its headers are larger than the client accepts (${maxHeaderSize} bytes)`,
      options,
    );
    this.name = 'HeadersTooLargeError';
  }
}

/** `bulk_fetch` reached its overall deadline before this URL was fetched (or while it was). */
export class DeadlineError extends HttpError {
  readonly limitMs: number;

  constructor(url: string, limitMs: number, started: boolean) {
    super(
      'DEADLINE',
      url,
      `${started ? 'stopped fetching' : 'did not fetch'} ${url}: the overall deadline of ${limitMs} ms (HTTP_BULK_DEADLINE_MS) passed first`,
    );
    this.name = 'DeadlineError';
    this.limitMs = limitMs;
  }
}

/** The client was used after the plugin closed (server shutdown). */
export class HttpClosedError extends HttpError {
  constructor(url: string) {
    super('CLOSED', url, `refused ${url}: the HTTP client is closed (the server is shutting down)`);
    this.name = 'HttpClosedError';
  }
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA']);

/** Which named cause an error from a connection attempt is (happy eyeballs reports several at once). */
export function connectionFailureCode(cause: unknown): ConnectionFailureCode | 'CONNECTION_FAILED' {
  if (cause instanceof AggregateError && cause.errors.length > 0) {
    const codes = new Set(cause.errors.map(connectionFailureCode));
    return codes.size === 1 ? [...codes][0]! : 'CONNECTION_FAILED';
  }
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 'CONNECTION_FAILED';
  if (DNS_CODES.has(code)) return 'DNS_FAILED';
  if (code === 'ECONNREFUSED') return 'CONNECTION_REFUSED';
  if (isTlsCode(code, cause)) return 'TLS_FAILED';
  return 'CONNECTION_FAILED';
}

/** OpenSSL and Node TLS failures: certificate problems, protocol mismatches, handshake alerts. */
function isTlsCode(code: string, cause: unknown): boolean {
  if (/^ERR_(TLS|SSL)_/.test(code) || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|SIGNATURE/.test(code)) return true;
  return (cause as { library?: unknown }).library === 'SSL routines';
}

function hostOf(url: string, withPort = false): string {
  try {
    const parsed = new URL(url);
    return withPort ? parsed.host : parsed.hostname;
  } catch {
    return url;
  }
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message;
}
