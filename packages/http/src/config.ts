import { defineConfig, env } from '@trellis/config';
import type { z } from 'zod';

/**
 * The configuration of the http plugin (env vars, `.env` files or `--http-…` flags). Every
 * field has a default; the comments say why that default.
 */
export const httpConfigSchema = defineConfig({
  HTTP_ALLOW_HOSTS: env
    .list()
    .default([])
    .describe(
      'Hosts (or host:port) fetched even though they are not public, e.g. "localhost:8080,10.0.0.5"; empty: public destinations only',
    ),
  // 1 MiB: a page of text for a model; more is noise in its context.
  HTTP_MAX_BYTES: env
    .number({ int: true, min: 1 })
    .default(1_048_576)
    .describe('Largest response body read, in bytes; the rest is cut off'),
  HTTP_TIMEOUT_MS: env.duration().default(30_000).describe('Deadline of a whole fetch, redirects and retries included'),
  HTTP_CONNECT_TIMEOUT_MS: env.duration().default(10_000).describe('Deadline to open a connection (TCP and TLS)'),
  HTTP_HEADERS_TIMEOUT_MS: env
    .duration()
    .default(15_000)
    .describe('Deadline for the response headers once the request is sent'),
  HTTP_BODY_TIMEOUT_MS: env.duration().default(15_000).describe('Longest pause allowed between two chunks of the body'),
  HTTP_MAX_REDIRECTS: env
    .number({ int: true, min: 0, max: 20 })
    .default(5)
    .describe('Redirects followed per fetch (each hop is checked like the first URL)'),
  HTTP_RETRIES: env
    .number({ int: true, min: 0, max: 10 })
    .default(2)
    .describe('Retries of idempotent requests after a connection error, 429 or 503'),
  HTTP_RETRY_MAX_DELAY_MS: env
    .duration()
    .default(10_000)
    .describe('Longest wait before a retry; a Retry-After asking for more ends the retries'),
  // 4: what browsers allowed per host for years; polite to small sites.
  HTTP_PER_HOST_CONCURRENCY: env
    .number({ int: true, min: 1, max: 256 })
    .default(4)
    .describe('Requests in flight to one host:port at once'),
  HTTP_CACHE_TTL_MS: env
    .duration()
    .default(60_000)
    .describe('How long a successful GET is reused (0 turns the cache off)'),
  HTTP_CACHE_MAX_ENTRIES: env
    .number({ int: true, min: 1 })
    .default(100)
    .describe('Responses kept in the cache (each up to HTTP_MAX_BYTES)'),
  HTTP_BULK_MAX_URLS: env
    .number({ int: true, min: 1, max: 1000 })
    .default(20)
    .describe('Most URLs bulk_fetch accepts in one call'),
  // A minute: long enough for a few slow sites, short enough that a model is not left waiting on twenty.
  HTTP_BULK_DEADLINE_MS: env
    .duration()
    .default(60_000)
    .describe(
      'Overall deadline of one bulk_fetch call: URLs not fetched by then are reported as DEADLINE, the rest are returned',
    ),
  HTTP_BULK_CONCURRENCY: env
    .number({ int: true, min: 1 })
    .default(4)
    .describe('bulk_fetch fetches at once when the call does not say'),
  // bulk_fetch answers with many bodies: each is cut so that the whole fits a model's context.
  HTTP_BULK_MAX_CHARS: env
    .number({ int: true, min: 0 })
    .default(2_000)
    .describe('Characters of each body bulk_fetch returns'),
  HTTP_USER_AGENT: env
    .string()
    .default('trellis-http/0.1')
    .describe('User-Agent sent when the request does not set one'),
});

/** The parsed configuration of the http plugin. */
export type HttpConfig = z.output<typeof httpConfigSchema>;
