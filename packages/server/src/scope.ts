import { ToolNameClashError } from '@trellis/tools';
import { StartupError } from './errors.js';
import type { Logger } from './logging.js';
import { prefixName, prefixUri, type AnyPlugin, type PluginScope, type ReadyState } from './plugin.js';
import type { TrellisServer } from './server.js';

export interface PluginRecord {
  plugin: AnyPlugin;
  closers: (() => void | Promise<void>)[];
  checks: (() => ReadyState | Promise<ReadyState>)[];
}

/** Turns a registry's clash error into a start-up error naming both plugins. */
function registering<T>(plugin: string, register: () => T): T {
  try {
    return register();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (error instanceof ToolNameClashError || code === 'RESOURCE_CLASH' || code === 'PROMPT_CLASH' || (code ?? '').endsWith('_CLASH')) {
      throw new StartupError('NAME_CLASH', (error as Error).message, plugin, { cause: error });
    }
    throw error;
  }
}

/** The scope one plugin sets itself up in: its own registrations, services and lifecycle. */
export function createScope(server: TrellisServer, record: PluginRecord, config: unknown, log: Logger): PluginScope<unknown> {
  const { plugin } = record;
  const owner = plugin.name;
  const prefix = plugin.prefix;
  const visible = new Set(plugin.dependsOn ?? []);
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
        registering(owner, () => server.resources.add({ ...spec, uri: prefixUri(prefix, spec.uri), name: prefixName(prefix, spec.name) }, owner));
      },
      template(spec) {
        registering(owner, () =>
          server.resources.addTemplate({ ...spec, uriTemplate: prefixUri(prefix, spec.uriTemplate), name: prefixName(prefix, spec.name) }, owner),
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
    use(middleware) {
      const list = server.ownerMiddleware.get(owner) ?? [];
      list.push(middleware);
      server.ownerMiddleware.set(owner, list);
    },
    useGlobal(middleware) {
      server.globalMiddleware.push(middleware);
    },
    provide(key, value) {
      const existing = server.services.get(key.id);
      if (existing) throw new StartupError('SERVICE_DUPLICATE', `service "${key.id}" is provided by both "${existing.owner}" and "${owner}"`, owner);
      server.services.set(key.id, { owner, value });
    },
    service(key) {
      const entry = server.services.get(key.id);
      if (!entry) throw new StartupError('SERVICE_MISSING', `plugin "${owner}" asked for service "${key.id}", which no plugin provides`, owner);
      if (entry.owner !== owner && !visible.has(entry.owner)) {
        throw new StartupError('SERVICE_MISSING', `plugin "${owner}" uses service "${key.id}" of plugin "${entry.owner}" without listing it in dependsOn`, owner);
      }
      return entry.value as never;
    },
    onClose(close) {
      record.closers.push(close);
    },
    readiness(check) {
      record.checks.push(check);
    },
  };
}
