import type { ServerOptions } from 'node:http';
import type { ResolvedHttpOptions } from './options.js';

/** How often Node checks connections against the headers and request timeouts (its default, 30 s, would double them). */
const TIMEOUT_CHECK_MS = 1_000;

/**
 * The `node:http` server options that bound what one connection may hold:
 * time for the headers, for the whole request (a body dribbled a byte at a
 * time is cut), and between keep-alive requests. Responses are not limited:
 * an event stream may stay open as long as the session lives.
 * @example
 * import { createServer } from 'node:http';
 * const listener = createServer(nodeServerOptions(opts), handler);
 */
export function nodeServerOptions(
  opts: Pick<ResolvedHttpOptions, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'>,
): ServerOptions {
  return {
    headersTimeout: opts.headersTimeoutMs,
    requestTimeout: opts.requestTimeoutMs,
    keepAliveTimeout: opts.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_MS, opts.headersTimeoutMs),
  };
}
