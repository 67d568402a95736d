// A fleet for tests and benchmarks: N instances of a built app on 127.0.0.1 behind nginx round-robin
// (the shipped deploy/nginx/trellis-mcp.conf), sharing a throwaway PostgreSQL 15 through the fleet
// plugin (FLEET_DATABASE_URL). Everything it started is stopped by `stop()`, and by a failed start.
// As a module:
//   const fleet = await startFleet({ bundle: 'apps/conformance/dist/main.js' });
//   fleet.url                       // nginx's /mcp: round-robin over the instances
//   fleet.instances[0].url          // one instance directly
//   await fleet.instances[1].kill() // SIGKILL: a crash
//   await fleet.postgres.stop(); await fleet.postgres.start();   // the database goes away and comes back
//   await fleet.stop();
import { startHttpBundle } from '@trellis/testing/apps';
import { freePort, startNginx, trellisNginxConfig } from './nginx.mjs';
import { schemaOwnerUrl, startTestPostgres } from './postgres.mjs';

/** The fleet's own role (and schema) in a cluster the harness starts. */
const FLEET_ROLE = 'trellis_fleet';
const FLEET_PASSWORD = 'trellis-fleet-test-secret';

/** What the harness starts, in the order it stops them: the balancer, then the instances, then the database. */
const STOP_ORDER = ['nginx', 'instance', 'postgres'];

/**
 * Stops what started, one kind after the other (the instances still reach their database while they shut
 * down), each kind all at once; every step runs even when some fail, then the first failure is thrown (with
 * the others' messages).
 * @param {{ kind: string, stop: () => Promise<unknown> }[]} started
 */
async function stopAll(started) {
  const failed = [];
  for (const kind of STOP_ORDER) {
    const results = await Promise.allSettled(started.filter((s) => s.kind === kind).map((s) => s.stop()));
    failed.push(...results.filter((r) => r.status === 'rejected').map((r) => r.reason));
  }
  if (failed.length === 1) throw failed[0];
  if (failed.length > 1)
    throw new AggregateError(failed, `stopping the fleet: ${failed.map((e) => e?.message ?? String(e)).join('; ')}`);
}

/**
 * Starts PostgreSQL (unless `fleet` is false or `databaseUrl` names one the caller owns), `instances`
 * copies of `bundle` over HTTP with FLEET_DATABASE_URL, and nginx in front of them.
 * @param {object} options
 * @param {string} options.bundle  absolute path of the app's dist/main.js
 * @param {number} [options.instances]  default 3
 * @param {boolean} [options.fleet]  false: no database, no FLEET_DATABASE_URL (stateless instances)
 * @param {string} [options.databaseUrl]  an existing database for FLEET_DATABASE_URL (not stopped by `stop()`)
 * @param {Record<string, string>} [options.env]  added to every instance's environment
 * @param {boolean} [options.nginx]  false: no load balancer (`url` is then the first instance's)
 */
export async function startFleet({
  bundle,
  instances = 3,
  fleet = true,
  databaseUrl,
  env = {},
  nginx: withNginx = true,
}) {
  if (typeof bundle !== 'string' || bundle === '')
    throw new TypeError('startFleet: give the app bundle (dist/main.js)');
  if (!Number.isInteger(instances) || instances < 1)
    throw new TypeError(`startFleet: instances must be a positive integer, got ${instances}`);
  /** @type {{ kind: string, stop: () => Promise<unknown> }[]} */
  const started = [];
  const stop = () => stopAll(started.splice(0));
  try {
    let postgres;
    let fleetUrl = fleet ? databaseUrl : undefined;
    if (fleet && !databaseUrl) {
      postgres = await startTestPostgres();
      started.push({ kind: 'postgres', stop: () => postgres.destroy() });
      // As packages/fleet/README.md asks: the instances log in as a role of their own that owns the
      // fleet's schema and nothing else (never the superuser).
      fleetUrl = await schemaOwnerUrl(postgres.url, { role: FLEET_ROLE, password: FLEET_PASSWORD });
    }
    const instanceEnv = {
      // nginx's X-Forwarded-For names the client (per-client caps count clients, not the proxy).
      TRUST_PROXY: 'loopback',
      ...(fleetUrl && { FLEET_DATABASE_URL: fleetUrl }),
      ...env,
    };
    // Every start settles before a failure is thrown, so that no instance comes up after the cleanup ran.
    const starts = await Promise.allSettled(
      Array.from({ length: instances }, () =>
        startHttpBundle({ bundle, env: instanceEnv }).then((app) => {
          started.push({ kind: 'instance', stop: () => app.stop() });
          return app;
        }),
      ),
    );
    const refused = starts.find((s) => s.status === 'rejected');
    if (refused) throw refused.reason;
    const apps = starts.map((s) => s.value);
    let lb;
    if (withNginx) {
      const port = await freePort();
      const upstreams = apps.map((app) => new URL(app.url).host);
      lb = await startNginx({ http: trellisNginxConfig({ upstreams, listen: `127.0.0.1:${port}` }), port });
      started.push({ kind: 'nginx', stop: () => lb.stop() });
    }
    return {
      /** The MCP endpoint clients use: nginx's `/mcp` (the first instance's without nginx). */
      url: lb ? `${lb.url}/mcp` : apps[0].url,
      nginx: lb,
      postgres,
      databaseUrl: fleetUrl,
      instances: apps,
      /** Which instance (index) served each request so far, from nginx's access log. */
      upstreamCounts() {
        const lines = lb ? lb.accessLog().split('\n') : [];
        // A line is `METHOD /uri STATUS addr[, addr…]` (more than one address when nginx moved on).
        return apps.map((app) => {
          const host = new URL(app.url).host;
          return lines.filter((line) => line.split(' ').slice(3).join(' ').split(/,\s*/).includes(host)).length;
        });
      },
      /** Every instance's output, for a failure message. */
      output: () => apps.map((app, i) => `--- instance ${i} (${app.url}) ---\n${app.output()}`).join('\n'),
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
