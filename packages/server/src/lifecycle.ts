import { StartupError } from './errors.js';
import type { AnyPlugin } from './plugin.js';

/**
 * Orders plugins so each comes after the plugins it depends on, keeping the
 * app's order otherwise. A duplicate name, a missing dependency or a cycle
 * stops the start with an error naming the plugins involved.
 */
export function orderPlugins(plugins: readonly AnyPlugin[]): AnyPlugin[] {
  const byName = new Map<string, AnyPlugin>();
  for (const plugin of plugins) {
    if (byName.has(plugin.name))
      throw new StartupError(
        'PLUGIN_DUPLICATE',
        `plugin "${plugin.name}" is listed twice; mount one of them under another name`,
        plugin.name,
      );
    byName.set(plugin.name, plugin);
  }
  for (const plugin of plugins) {
    for (const dependency of plugin.dependsOn ?? []) {
      if (!byName.has(dependency)) {
        throw new StartupError(
          'PLUGIN_DEPENDENCY_MISSING',
          `plugin "${plugin.name}" depends on "${dependency}", which is not in the app's plugin list`,
          plugin.name,
        );
      }
    }
  }
  const ordered: AnyPlugin[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (plugin: AnyPlugin, path: string[]) => {
    const seen = state.get(plugin.name);
    if (seen === 'done') return;
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(plugin.name)), plugin.name].join(' → ');
      throw new StartupError(
        'PLUGIN_DEPENDENCY_CYCLE',
        `plugins depend on each other in a cycle: ${cycle}`,
        plugin.name,
      );
    }
    state.set(plugin.name, 'visiting');
    for (const dependency of plugin.dependsOn ?? []) visit(byName.get(dependency)!, [...path, plugin.name]);
    state.set(plugin.name, 'done');
    ordered.push(plugin);
  };
  for (const plugin of plugins) visit(plugin, []);
  return ordered;
}

/** Runs `fn` but gives up waiting after `ms`; reports whether it finished in time. */
export async function withinDeadline(fn: () => unknown, ms: number): Promise<{ finished: true } | { finished: false }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ finished: false }>((resolve) => {
    timer = setTimeout(() => resolve({ finished: false }), ms);
    timer.unref();
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(fn)
        .then(() => ({ finished: true as const })),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
