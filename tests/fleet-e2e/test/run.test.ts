import { PassThrough } from 'node:stream';
import { run } from '@trellis/transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetTestTools } from './fixtures/tools.js';
import { admin, FLEET_PASSWORD, fleetRoleUrl, freePort, startTestPostgres, type TestPostgres } from './helpers.js';

/** An app run by the shared command line joins the fleet when FLEET_DATABASE_URL is set, or refuses to start saying why. */

let db: TestPostgres;
let fleetUrl: string;

beforeAll(async () => {
  db = await startTestPostgres();
  fleetUrl = await fleetRoleUrl(db.url);
});

afterAll(async () => {
  await db?.destroy();
});

/** Runs the fixture app through the shared command line, as a deployment would, and collects what it prints. */
async function runApp(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  let code = -1;
  const app = await run(
    { name: 'fleet-app', version: '1.0.0', plugins: [fleetTestTools()] },
    {
      argv: [],
      env: { LOG_LEVEL: 'silent', TRELLIS_TRANSPORT: 'http', PORT: '0', ...env },
      envFiles: [],
      stdout: new PassThrough(),
      stderr,
      exit: (exitCode) => void (code = exitCode),
      signals: false,
    },
  );
  if (code === -1) await app.shutdown('test over');
  return { code, stderr: text };
}

describe('run() joining a fleet', () => {
  it('an unreachable database fails the start with exit 1 and a message that names host and port, never the password', async () => {
    const port = await freePort();
    const { code, stderr } = await runApp({
      FLEET_DATABASE_URL: `postgres://trellis_fleet:${FLEET_PASSWORD}@127.0.0.1:${port}/postgres`,
    });
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot connect to the fleet database at 127.0.0.1:${port}/postgres`);
    expect(stderr).toContain('ECONNREFUSED');
    expect(stderr).not.toContain(FLEET_PASSWORD);
  });

  it('a wrong password, or a role without rights on the schema, fails the start saying so', async () => {
    const wrong = new URL(fleetUrl);
    wrong.password = 'not-the-password';
    const denied = await runApp({ FLEET_DATABASE_URL: wrong.toString() });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('password authentication failed for user "trellis_fleet"');
    expect(denied.stderr).not.toContain('not-the-password');

    await admin(db.url, `CREATE ROLE trellis_nobody LOGIN PASSWORD '${FLEET_PASSWORD}'`);
    const nobody = new URL(fleetUrl);
    nobody.username = 'trellis_nobody';
    const { code, stderr } = await runApp({ FLEET_DATABASE_URL: nobody.toString() });
    expect(code).toBe(1);
    expect(stderr).toMatch(/fleet's role may not create or change schema "trellis_fleet".*permission denied/);
    expect(stderr).not.toContain(FLEET_PASSWORD);
  });

  it('run() with FLEET_DATABASE_URL joins the fleet: the app is ready and its instance is registered', async () => {
    const stderr = new PassThrough();
    let code = -1;
    const app = await run(
      { name: 'fleet-app', version: '1.0.0', plugins: [fleetTestTools()] },
      {
        argv: [],
        env: {
          LOG_LEVEL: 'silent',
          TRELLIS_TRANSPORT: 'http',
          PORT: '0',
          FLEET_DATABASE_URL: fleetUrl,
          FLEET_INSTANCE_ID: 'via-run',
        },
        envFiles: [],
        stdout: new PassThrough(),
        stderr,
        exit: (exitCode) => void (code = exitCode),
        signals: false,
      },
    );
    try {
      expect(code).toBe(-1);
      expect(app.server!.plugins.map((plugin) => plugin.name)).toContain('fleet');
      expect(await app.server!.ready()).toMatchObject({ ready: true });
      expect(await admin(db.url, "SELECT id FROM trellis_fleet.instances WHERE id = 'via-run'")).toHaveLength(1);
      // The settings resource redacts the URL.
      expect(JSON.stringify(app.server!.settings())).not.toContain(FLEET_PASSWORD);
    } finally {
      await app.shutdown('test over');
    }
    expect(await admin(db.url, "SELECT id FROM trellis_fleet.instances WHERE id = 'via-run'")).toHaveLength(0);
  });
});
