import type { IncomingMessage } from 'node:http';
import { validateHostHeader } from '@modelcontextprotocol/server';
import type { ResolvedHttpOptions } from './options.js';

/**
 * Why a request fails the DNS-rebinding checks, or undefined when it passes.
 * A missing Origin passes: non-browser clients do not send one.
 */
export function rebindingProblem(req: IncomingMessage, options: ResolvedHttpOptions): string | undefined {
  if (options.allowedHosts) {
    const host = validateHostHeader(req.headers.host, options.allowedHosts as string[]);
    if (!host.ok) return host.message;
  }
  const origin = req.headers.origin;
  if (origin === undefined || !options.allowedOrigins) return undefined;
  const { origins, hostnames } = options.allowedOrigins;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return `Invalid Origin header: ${origin}`;
  }
  if (origins.has(parsed.origin)) return undefined;
  const hostname = parsed.hostname.toLowerCase();
  if (hostnames.includes(hostname)) return undefined;
  return `Origin not allowed: ${origin}`;
}
