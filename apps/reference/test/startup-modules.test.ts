import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connectBundle } from '@trellis/testing/apps';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE, SERVER_ENV } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'trellis-startup-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const hook = pathToFileURL(join(import.meta.dirname, 'fixtures', 'module-log.mjs')).href;

/**
 * Starts the bundle over stdio, lists its tools (the whole start-up), and returns the text of every
 * bundle file the process read: the bundle keeps esbuild's `// <path>` comment before each module.
 */
async function bundleFilesRead(): Promise<string[]> {
  const log = join(work, 'modules.log');
  const client = await connectBundle({
    bundle: BUNDLE,
    transport: 'stdio',
    client: 'v2',
    env: { ...SERVER_ENV, NODE_OPTIONS: `--import=${hook}`, MODULE_LOG: log },
  });
  try {
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  } finally {
    await client.close();
  }
  const dist = join(BUNDLE, '..');
  const files = [
    ...new Set(
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((url) => url.startsWith('file:'))
        .map((url) => fileURLToPath(url))
        .filter((path) => path.startsWith(dist) && existsSync(path)),
    ),
  ];
  return files.map((path) => readFileSync(path, 'utf8'));
}

// Features that are off cost nothing at start-up: their code is in chunks read only when they are turned on.
describe('start-up of the bundle with telemetry off and no worker job run', () => {
  it('reads neither the OpenTelemetry SDK nor the worker-pool library', async () => {
    const texts = await bundleFilesRead();
    expect(texts.length).toBeGreaterThan(0);
    const modules = texts.flatMap((text) => text.match(/^\/\/ \S+\.(?:m?[jt]s|json)$/gm) ?? []);
    expect(modules.some((line) => line.includes('packages/server/src/'))).toBe(true);
    expect(modules.filter((line) => /@opentelemetry\/sdk-/.test(line))).toEqual([]);
    expect(modules.filter((line) => /\/piscina[@/]/.test(line))).toEqual([]);
  });
});
