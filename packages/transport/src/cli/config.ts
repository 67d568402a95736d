import { defineConfig, env } from '@trellis/config';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../stdio/line-transport.js';

/**
 * The command line's own settings. `run()` adds it (with the HTTP transport's)
 * to the app's configuration, so `--help` and `config://settings` list them.
 * `SHUTDOWN_GRACE_MS` is declared exactly as the HTTP schema declares it, so
 * the two share the key.
 */
export const transportConfigSchema = defineConfig({
  TRELLIS_TRANSPORT: env.enum(['stdio', 'http']).default('stdio').meta({
    flag: '--transport',
    description: 'stdio (for a desktop client that starts the server) or http (a network service)',
  }),
  SHUTDOWN_GRACE_MS: env
    .duration()
    .default(10_000)
    .describe('How long in-flight calls may finish at shutdown before they are aborted'),
  STDIO_MAX_MESSAGE_BYTES: env
    .number({ int: true, min: 1024 })
    .default(DEFAULT_MAX_MESSAGE_BYTES)
    .describe('Largest message accepted on stdio, in bytes; a larger one is refused with an error and skipped'),
});

/** The loaded values of `transportConfigSchema`. */
export interface TransportConfig {
  TRELLIS_TRANSPORT: 'stdio' | 'http';
  SHUTDOWN_GRACE_MS: number;
  STDIO_MAX_MESSAGE_BYTES: number;
}
