import { env } from '@trellis/config';
import { z } from 'zod';

/**
 * Settings of the fleet plugin. `FLEET_DATABASE_URL` is a secret (redacted
 * wherever the configuration is shown, and without a flag so that it never
 * lands in a process list); the command line loads the plugin only when it is set.
 */
export const fleetConfigSchema = z.object({
  FLEET_DATABASE_URL: env
    .url({ protocols: ['postgres', 'postgresql'] })
    .meta({ secret: true, flag: false })
    .describe(
      'postgres://role:password@host:5432/db the instances of a fleet share (its own role: see the fleet README for the grants)',
    ),
  FLEET_SCHEMA: env
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,55}$/, 'a lower-case SQL identifier of at most 56 characters')
    .default('trellis_fleet')
    // At most 56 characters: the NOTIFY channel is "<schema>_outbox", and PostgreSQL names stop at 63.
    .describe("The schema holding the fleet's tables (created if missing and the role may)"),
  FLEET_POOL_SIZE: env
    .number({ int: true, min: 1, max: 100 })
    .default(5)
    .describe('Pooled connections of this instance'),
  FLEET_CONNECT_TIMEOUT: env.duration().prefault('5s').describe('How long opening a connection may take'),
  FLEET_INSTANCE_ID: env
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits, ".", "_", ":" or "-"')
    .optional()
    .describe('A name for this instance in the fleet (default: host, pid and a random suffix)'),
  FLEET_HEARTBEAT_INTERVAL: env
    .duration()
    .prefault('5s')
    .describe('How often this instance writes its heartbeat (and looks for instances that stopped writing theirs)'),
  FLEET_HEARTBEAT_MISSES: env
    .number({ int: true, min: 2, max: 100 })
    .default(3)
    .describe('Heartbeats an instance may miss before its running tasks are marked failed'),
  FLEET_OUTBOX_RETENTION: env
    .duration()
    .prefault('10m')
    .describe('How long change notifications stay in the outbox (the longest listener outage that loses nothing)'),
});

/** The parsed settings of the fleet plugin. */
export type FleetConfig = z.output<typeof fleetConfigSchema>;
