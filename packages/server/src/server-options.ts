import type { CacheHint, ServerCapabilities } from '@modelcontextprotocol/server';
import type { ConfigSources } from '@trellis/config';
import type { z } from 'zod';
import type { Logger } from './logging.js';
import type { AnyPlugin } from './plugin.js';
import type { TaskOptions } from './task-calls.js';

export interface ServerLimits {
  /** Tool calls running at once across the whole server; more wait in a FIFO queue. */
  maxConcurrentCalls?: number;
  /** How long a call may wait in that queue before it gets a "busy" result. */
  queueTimeoutMs?: number;
}

export interface CreateServerOptions {
  name: string;
  version: string;
  title?: string;
  instructions?: string;
  plugins: readonly AnyPlugin[];
  /** Configuration owned by the layers around the core (e.g. the transport's HOST and PORT). */
  configSchemas?: readonly { owner: string; schema: z.ZodObject }[];
  /** Where configuration comes from; process argv, env and `.env` files by default. */
  configSources?: ConfigSources;
  /** A logger to use instead of the one built from LOG_LEVEL/LOG_FORMAT. */
  logger?: Logger;
  limits?: ServerLimits;
  /** Deadline for each plugin's `setup` (as `close` has one): past it the start fails naming the plugin. Default 30 000 ms. */
  pluginSetupMs?: number;
  /** Serve `config://settings` (the redacted configuration). Default true. */
  settingsResource?: boolean;
  /** 2026-07-28 cache hints per list operation and for `resources/read`. */
  cacheHints?: Partial<
    Record<
      | 'tools/list'
      | 'prompts/list'
      | 'resources/list'
      | 'resources/templates/list'
      | 'resources/read'
      | 'server/discover',
      CacheHint
    >
  >;
  /** The Tasks extension, for tools that declare `taskSupport`: the task store and the live-task cap. */
  tasks?: TaskOptions;
  /** Extra capabilities to advertise (merged over the ones Trellis declares). */
  capabilities?: ServerCapabilities;
}
