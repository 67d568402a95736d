import { defineConfig, env } from '@trellis/config';

/**
 * The HTTP transport's settings (env vars and flags). Add it to the app's
 * `configSchemas` and turn the loaded values into options with
 * `httpOptionsFromConfig`.
 * @example
 * const server = createServer({ name, version, plugins, configSchemas: [{ owner: 'http', schema: httpConfigSchema }] });
 * await server.start();
 * const http = await serveHttp(server, httpOptionsFromConfig(server.config));
 */
export const httpConfigSchema = defineConfig({
  PORT: env.port().default(3000).describe('HTTP port (0 picks a free one)'),
  HOST: env
    .string()
    .default('127.0.0.1')
    .describe('Address to bind; a non-loopback address needs ALLOWED_HOSTS or auth'),
  ALLOWED_HOSTS: env
    .list()
    .optional()
    .describe(
      'Host names accepted in the Host header (DNS-rebinding protection); default: localhost names on a loopback bind',
    ),
  ALLOWED_ORIGINS: env
    .list()
    .optional()
    .describe(
      'Origins (https://app.example) or host names accepted in the Origin header; default: localhost on a loopback bind',
    ),
  AUTH_TOKEN: env.string().min(16).optional().describe('Static bearer token every /mcp request must carry'),
  AUTH_JWKS_URL: env
    .url({ protocols: ['https', 'http'] })
    .optional()
    .describe('JWKS URL to verify OAuth 2.1 JWT access tokens against'),
  AUTH_ISSUER: env
    .string()
    .optional()
    .describe('Expected "iss" of access tokens; advertised in the protected resource metadata'),
  AUTH_AUDIENCE: env.string().optional().describe('Expected "aud" of access tokens; default: PUBLIC_URL'),
  AUTH_SUBJECTLESS_TOKENS: env
    .enum(['token-id', 'refuse'])
    .optional()
    .describe(
      'A JWT naming no subject (sub) or client (client_id): token-id gives it a principal from iss + jti (refused without jti); refuse refuses it. Default token-id',
    ),
  PUBLIC_URL: env
    .url({ protocols: ['https', 'http'] })
    .optional()
    .describe('Public URL of the /mcp endpoint (behind a proxy); default: http://HOST:PORT/mcp'),
  MAX_BODY_BYTES: env
    .number({ int: true, min: 1 })
    .default(4 * 1024 * 1024)
    .describe('Largest accepted request body, in bytes (413 beyond)'),
  MAX_SESSIONS: env
    .number({ int: true, min: 1 })
    .default(10_000)
    .describe(
      'Older-protocol sessions held at once; at the cap, sessions never used after initialize are closed (oldest first), then new ones get 503',
    ),
  MAX_SESSIONS_PER_CLIENT: env
    .number({ int: true, min: 1 })
    .optional()
    .describe(
      'Older-protocol sessions one client (principal with auth, else address) may hold (429 beyond); default 2000, at most MAX_SESSIONS',
    ),
  TRUST_PROXY: env
    .list()
    .optional()
    .describe(
      'Proxies whose X-Forwarded-For names the client: addresses, CIDR ranges or "loopback" (set it behind nginx, or every client shares the proxy\'s per-client cap)',
    ),
  SESSION_IDLE_TIMEOUT_MS: env
    .duration()
    .default(30 * 60_000)
    .describe('An older-protocol session with no request for this long is closed'),
  SESSIONS: env
    .enum(['on', 'off'])
    .default('on')
    .describe(
      'off: older-protocol clients get stateless serving (no server-to-client requests), for load balancers that cannot pin sessions',
    ),
  SHUTDOWN_GRACE_MS: env
    .duration()
    .default(10_000)
    .describe('How long in-flight calls may finish at shutdown before they are aborted'),
  HEADERS_TIMEOUT_MS: env
    .duration()
    .optional()
    .describe('Time a client has to send the request headers (default 10s, at most REQUEST_TIMEOUT_MS)'),
  REQUEST_TIMEOUT_MS: env
    .duration()
    .default(30_000)
    .describe('Time a client has to send a whole request, body included; a slower (dribbling) client is cut off'),
  KEEP_ALIVE_TIMEOUT_MS: env
    .duration()
    .default(5_000)
    .describe('How long an idle keep-alive connection stays open between requests'),
});

/** The loaded values of `httpConfigSchema`. */
export interface HttpConfig {
  PORT: number;
  HOST: string;
  ALLOWED_HOSTS?: readonly string[] | undefined;
  ALLOWED_ORIGINS?: readonly string[] | undefined;
  AUTH_TOKEN?: string | undefined;
  AUTH_JWKS_URL?: string | undefined;
  AUTH_ISSUER?: string | undefined;
  AUTH_AUDIENCE?: string | undefined;
  AUTH_SUBJECTLESS_TOKENS?: 'token-id' | 'refuse' | undefined;
  PUBLIC_URL?: string | undefined;
  MAX_BODY_BYTES: number;
  MAX_SESSIONS: number;
  MAX_SESSIONS_PER_CLIENT?: number | undefined;
  TRUST_PROXY?: readonly string[] | undefined;
  SESSION_IDLE_TIMEOUT_MS: number;
  SESSIONS: 'on' | 'off';
  SHUTDOWN_GRACE_MS: number;
  HEADERS_TIMEOUT_MS?: number | undefined;
  REQUEST_TIMEOUT_MS: number;
  KEEP_ALIVE_TIMEOUT_MS: number;
}
