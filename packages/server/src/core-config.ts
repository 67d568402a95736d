import { availableParallelism } from 'node:os';
import { z } from 'zod';

/** The core's own settings; every app has them. */
export const coreConfigSchema = z.object({
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .default('info')
    .describe('Log level of the server log (stderr)'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json').describe('json for machines, pretty for a terminal'),
  MAX_CONCURRENT_CALLS: z.coerce
    .number()
    .int()
    .min(1)
    .default(256)
    .describe('Tool calls running at once across the server'),
  WORKER_THREADS: z.coerce
    .number()
    .int()
    .min(1)
    .default(availableParallelism())
    .describe("Most threads each plugin's worker pool runs (default: the CPUs this process may use)"),
  QUEUE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(30_000)
    .describe('How long a call may wait for a free slot before a "busy" result (ms)'),
  MAX_LIVE_TASKS: z.coerce
    .number()
    .int()
    .min(1)
    .default(1_000)
    .describe(
      'Tasks working or waiting for input at once; past it a call is answered "busy" before any task is created',
    ),
  REQUEST_STATE_SECRET: z
    .string()
    .min(32)
    .optional()
    .describe('Key (≥ 32 chars) that signs multi-round-trip requestState; set the same value on every instance'),
});

export type CoreConfig = z.output<typeof coreConfigSchema>;
