import { WorkerNotFoundError } from '@trellis/concurrency';
import { PromptNameClashError } from '@trellis/prompts';
import { ResourceClashError } from '@trellis/resources';
import { ToolNameClashError } from '@trellis/tools';
import { StartupError } from './errors.js';
import type { Logger } from './logging.js';
import { prefixName, prefixUri, type AnyPlugin, type PluginScope, type ReadyState } from './plugin.js';
import type { CoreConfig } from './core-config.js';
import type { TrellisServer } from './server.js';
import { createPluginWorkerPool } from './workers.js';

export interface PluginRecord {
  plugin: AnyPlugin;
  closers: (() => void | Promise<void>)[];
  checks: (() => ReadyState | Promise<ReadyState>)[];
}

/** Turns a registry's clash error (tool, prompt, resource or template) into the one start-up error, naming both plugins. */
function registering<T>(plugin: string, register: () => T): T {
  try {
    return register();
  } catch (error) {
    if (
      error instanceof ToolNameClashError ||
      error instanceof PromptNameClashError ||
      error instanceof ResourceClashError
    ) {
      throw new StartupError('NAME_CLASH', (error as Error).message, plugin, { cause: error });
    }
    throw error;
  }
}

/** The scope one plugin sets itself up in: its own registrations, services and lifecycle. */
export function createScope(
  server: TrellisServer,
  record: PluginRecord,
  config: unknown,
  log: Logger,
): PluginScope<unknown> {
  const { plugin } = record;
  const owner = plugin.name;
  const prefix = plugin.prefix;
  return {
    name: owner,
    config,
    log,
    background: server.background,
    tools: {
      add(spec) {
        registering(owner, () => server.tools.add({ ...spec, name: prefixName(prefix, spec.name) } as never, owner));
      },
      remove: (name) => server.tools.remove(prefixName(prefix, name)),
    },
    resources: {
      add(spec) {
        registering(owner, () =>
          server.resources.add(
            { ...spec, uri: prefixUri(prefix, spec.uri), name: prefixName(prefix, spec.name) },
            owner,
          ),
        );
      },
      template(spec) {
        registering(owner, () =>
          server.resources.addTemplate(
            { ...spec, uriTemplate: prefixUri(prefix, spec.uriTemplate), name: prefixName(prefix, spec.name) },
            owner,
          ),
        );
      },
      remove: (uri) => server.resources.remove(prefixUri(prefix, uri)),
      notifyUpdated: (uri) => server.resources.notifyUpdated(prefixUri(prefix, uri)),
    },
    prompts: {
      add(spec) {
        registering(owner, () => server.prompts.add({ ...spec, name: prefixName(prefix, spec.name) } as never, owner));
      },
      remove: (name) => server.prompts.remove(prefixName(prefix, name)),
    },
    use: (middleware) => server.addMiddleware(owner, middleware),
    useGlobal: (middleware) => server.addMiddleware(undefined, middleware),
    observe: (observer) => record.closers.push(server.observe(observer)),
    observeTasks: (listener) => record.closers.push(server.observeTasks(listener)),
    provide: (key, value) => server.provideService(owner, key, value),
    service: (key) => server.serviceFor(owner, key),
    onClose(close) {
      record.closers.push(close);
    },
    workers(worker, options) {
      const size = options.size ?? (config as CoreConfig).WORKER_THREADS;
      try {
        const { pool, close } = createPluginWorkerPool(worker, { ...options, size, log });
        record.closers.push(close);
        return pool;
      } catch (error) {
        if (!(error instanceof WorkerNotFoundError)) throw error;
        throw new StartupError('WORKER_NOT_FOUND', `plugin "${owner}": ${error.message}`, owner, { cause: error });
      }
    },
    readiness(check) {
      record.checks.push(check);
    },
  };
}
