import { definePlugin, type Plugin } from '@trellis/server';
import { PooledHttpClient } from './client.js';
import { httpConfigSchema } from './config.js';
import { DestinationPolicy, type HostResolver } from './policy.js';
import { registerTools } from './tools.js';
import { HttpClientKey } from './types.js';

/** Options of {@link httpClient}; everything else comes from the `HTTP_*` configuration. */
export interface HttpClientPluginOptions {
  /**
   * Resolves host names before connecting (default: the system resolver, which reads
   * /etc/hosts). Every address it returns is checked; inject one in tests so that no DNS
   * query leaves the machine.
   */
  resolver?: HostResolver;
}

/**
 * The http plugin: one pooled undici `Agent` (opened in setup, closed on shutdown) behind an
 * SSRF-safe client with timeouts, a size cap, redirects, retries, per-host limits and a GET
 * cache; the `http_get` and `bulk_fetch` tools; and the client as a service
 * ({@link HttpClientKey}) for plugins that list `'http'` in `dependsOn`.
 *
 * @example
 * run({ name: 'trellis-fetch', version: '0.1.0', plugins: [httpClient()] });
 * // HTTP_ALLOW_HOSTS=localhost:8080 opts one non-public host in
 */
export function httpClient(options: HttpClientPluginOptions = {}): Plugin<typeof httpConfigSchema> {
  return definePlugin({
    name: 'http',
    config: httpConfigSchema,
    setup(scope) {
      const config = scope.config;
      const client = new PooledHttpClient({
        policy: new DestinationPolicy(config.HTTP_ALLOW_HOSTS, options.resolver),
        maxBytes: config.HTTP_MAX_BYTES,
        timeoutMs: config.HTTP_TIMEOUT_MS,
        maxRedirects: config.HTTP_MAX_REDIRECTS,
        retries: config.HTTP_RETRIES,
        connectTimeoutMs: config.HTTP_CONNECT_TIMEOUT_MS,
        headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
        bodyTimeoutMs: config.HTTP_BODY_TIMEOUT_MS,
        retryMaxDelayMs: config.HTTP_RETRY_MAX_DELAY_MS,
        perHostConcurrency: config.HTTP_PER_HOST_CONCURRENCY,
        cacheTtlMs: config.HTTP_CACHE_TTL_MS,
        cacheMaxEntries: config.HTTP_CACHE_MAX_ENTRIES,
        userAgent: config.HTTP_USER_AGENT,
        log: scope.log,
      });
      scope.onClose(() => client.close());
      scope.provide(HttpClientKey, client);
      registerTools(scope, client);
    },
  });
}
