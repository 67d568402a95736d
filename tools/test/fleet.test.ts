import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFleet } from '../fleet.mjs';

// The harness itself; three real instances behind nginx on PostgreSQL run in apps/conformance/test/fleet.test.ts.
describe('startFleet (tools/fleet.mjs)', () => {
  it('names a missing bundle and a bad instance count', async () => {
    await expect(startFleet({} as never)).rejects.toThrow(/give the app bundle/);
    await expect(startFleet({ bundle: '/x/main.js', instances: 0 })).rejects.toThrow(
      /instances must be a positive integer, got 0/,
    );
  });

  it('fails with the instance’s own words when an instance cannot start, having stopped what it started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-fleet-test-'));
    try {
      const bundle = join(dir, 'main.js');
      writeFileSync(bundle, "process.stderr.write('no database for me\\n'); process.exit(3);\n");
      const error = await startFleet({ bundle, instances: 2 }).catch((e: unknown) => e as Error);
      expect(String(error)).toMatch(/exited with 3 before serving[\s\S]*no database for me/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
