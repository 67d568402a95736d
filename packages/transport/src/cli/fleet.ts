import type { AnyPlugin } from '@trellis/server';

/**
 * The command line's gate to `@trellis/fleet`: the plugin (and with it `pg`)
 * is imported only when `FLEET_DATABASE_URL` is set in the environment, so a
 * single instance never loads the fleet's code. An app that composes the
 * fleet itself keeps its own.
 */
export async function fleetPlugins(
  app: { plugins: readonly AnyPlugin[] },
  env: Readonly<Record<string, string | undefined>>,
): Promise<AnyPlugin[]> {
  if (!env.FLEET_DATABASE_URL || app.plugins.some((plugin) => plugin.name === 'fleet')) return [];
  const { fleet } = await import('@trellis/fleet');
  return [fleet() as AnyPlugin];
}
