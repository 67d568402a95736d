import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { run } from '../src/index.js';

/** Counts how often `@trellis/fleet` is loaded (vitest runs a mock factory only on import). */
const loads = vi.hoisted(() => ({ count: 0 }));
vi.mock('@trellis/fleet', async (importOriginal) => {
  loads.count += 1;
  return importOriginal();
});

async function start(env: Record<string, string>) {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  let code = -1;
  const app = await run(
    { name: 'gate', version: '1.0.0', plugins: [] },
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
  return { app, code: () => code, stderr: () => text };
}

describe('the fleet gate of the shared command line', () => {
  it('without FLEET_DATABASE_URL the fleet code is never loaded; with it, the fleet joins (or the start fails, saying why)', async () => {
    const single = await start({});
    expect(single.code()).toBe(-1);
    expect(single.app.server!.plugins.map((plugin) => plugin.name)).not.toContain('fleet');
    await single.app.shutdown('test over');
    expect(loads.count).toBe(0);

    // Port 1 on loopback refuses at once: the plugin loads, and the start fails without the password.
    const fleet = await start({ FLEET_DATABASE_URL: 'postgres://someone:pa55word@127.0.0.1:1/db' });
    expect(loads.count).toBe(1);
    expect(fleet.code()).toBe(1);
    expect(fleet.stderr()).toContain('cannot connect to the fleet database at 127.0.0.1:1/db');
    expect(fleet.stderr()).not.toContain('pa55word');
  });
});
