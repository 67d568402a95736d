/**
 * @trellis/http: an SSRF-safe pooled HTTP client (undici) as a Trellis plugin, with the
 * `http_get` and `bulk_fetch` tools and a typed service for other plugins.
 */
export { httpConfigSchema } from './config.js';
export type { HttpConfig } from './config.js';
export {
  ConnectionFailedError,
  DeadlineError,
  HeadersTooLargeError,
  HttpClosedError,
  HttpError,
  HttpTimeoutError,
  InvalidUrlError,
  SsrfBlockedError,
  TooLargeError,
  TooManyRedirectsError,
  UnsupportedSchemeError,
} from './errors.js';
export type { ConnectionFailureCode, HttpErrorCode, TimeoutPhase } from './errors.js';
export { httpClient } from './plugin.js';
export type { HttpClientPluginOptions } from './plugin.js';
export type { HostResolver } from './policy.js';
export { HttpClientKey } from './types.js';
export type { HttpClient, HttpClientLimits, HttpRequestOptions, HttpResponse } from './types.js';
