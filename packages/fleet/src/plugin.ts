import { CoreServices, definePlugin, serviceKey, type Plugin } from '@trellis/server';
import { fleetConfigSchema } from './config.js';
import { Fleet } from './fleet.js';

/**
 * The key under which the plugin provides its `Fleet` (instance id, health, the outbox position).
 * @example
 * definePlugin({ name: 'ops', dependsOn: ['fleet'], setup(scope) { scope.service(FleetKey).instanceId } })
 */
export const FleetKey = serviceKey<Fleet>('fleet.fleet');

/**
 * Several instances as one server, on PostgreSQL (`FLEET_DATABASE_URL`):
 * the change feed goes through an outbox and LISTEN/NOTIFY, so a change on one
 * instance reaches listeners on every instance; tasks live in a shared table,
 * so `tasks/get`, `tasks/update` and `tasks/cancel` work on any instance, and
 * heartbeats fail the tasks of an instance that vanished. It provides the
 * core's `changeBus` and `taskStore`; it adds no tools. The shared command line
 * (`run()`) adds it by itself when `FLEET_DATABASE_URL` is set.
 * @example
 * createServer({ name: 'app', version: '1.0.0', plugins: [fleet(), ...plugins] });
 */
export function fleet(): Plugin<typeof fleetConfigSchema> {
  return definePlugin({
    name: 'fleet',
    config: fleetConfigSchema,
    async setup(scope) {
      const joined = await Fleet.join(scope.config, scope.log);
      scope.onClose(() => joined.close());
      scope.provide(CoreServices.changeBus, joined.bus);
      scope.provide(CoreServices.taskStore, joined.taskStore);
      scope.provide(CoreServices.sessionStore, joined.sessionStore);
      scope.provide(FleetKey, joined);
      scope.readiness(() => joined.health());
    },
  });
}
