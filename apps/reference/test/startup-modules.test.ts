import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import { connectBundle, copyDistAlone } from '@trellis/testing/apps';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE, connectCopy, DIST, SERVER_ENV } from './helpers.js';

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

// Through esbuild's CommonJS interop every OpenTelemetry API call would go through a shared getter (tsup.shared.ts).
describe('the OpenTelemetry packages in the bundle', () => {
  it('are their ES module builds, one build of each', () => {
    const modules = readdirSync(DIST)
      .filter((name) => name.endsWith('.js'))
      .flatMap((name) => readFileSync(join(DIST, name), 'utf8').match(/^\/\/ \S*@opentelemetry\/\S+$/gm) ?? []);
    const builds = (name: string) => [
      ...new Set(
        modules
          .filter((line) => line.includes(`/@opentelemetry/${name}/`))
          .map((line) => /\/build\/(\w+)\//.exec(line)?.[1]),
      ),
    ];
    for (const name of ['api', 'core', 'sdk-trace', 'sdk-metrics', 'otlp-transformer'])
      expect(builds(name)).toEqual(['esm']);
  });
});

// dist/main.js runs the bundle's modules as scripts from dist/start/ with V8's code cache made by the build
// (tools/app-start.ts): the cache must be one this Node takes, and a cache it cannot take must cost only time.
describe("the bundle's start through the code cache", () => {
  const start = join(DIST, 'start');

  it('has a code cache this Node accepts for the scripts a start runs, each marked with the SHA-1 of its script', () => {
    const caches = readdirSync(start).filter((name) => name.endsWith('.cache'));
    expect(caches).toContain('main.cache');
    for (const name of caches) {
      const file = join(start, name.replace(/\.cache$/, '.cjs'));
      const source = readFileSync(file);
      const cache = readFileSync(join(start, name));
      expect(cache.subarray(0, 20).equals(createHash('sha1').update(source).digest())).toBe(true);
      const script = new Script(source.toString('utf8'), { filename: file, cachedData: cache.subarray(20) });
      expect(script.cachedDataRejected, name).toBe(false);
    }
  });

  it('has caches for the OpenTelemetry chunks too (the training start runs with telemetry on)', () => {
    const scripts = readdirSync(start).filter((name) => name.endsWith('.cjs'));
    const holding = (pattern: RegExp) =>
      scripts
        .filter((name) => pattern.test(readFileSync(join(start, name), 'utf8')))
        .map((name) => name.replace(/\.cjs$/, '.cache'));
    const cached = new Set(readdirSync(start));
    for (const pattern of [
      /@opentelemetry\/sdk-trace\//,
      /@opentelemetry\/sdk-metrics\//,
      /@opentelemetry\/otlp-transformer\//,
    ]) {
      const chunks = holding(pattern);
      expect(chunks.length, String(pattern)).toBeGreaterThan(0);
      expect(
        chunks.filter((name) => cached.has(name)),
        String(pattern),
      ).toEqual(chunks);
    }
  });

  it('starts and serves the same with a cache of other script text, one V8 refuses, or none', async () => {
    const copy = copyDistAlone(DIST, 'trellis-stale-cache-');
    try {
      const copied = join(copy.dist, 'start');
      const caches = readdirSync(copied).filter((name) => name.endsWith('.cache'));
      const other = caches.find((name) => name !== 'main.cache')!;
      // main: another script's cache (the hash does not match); the others: the right hash, bytes V8 refuses.
      writeFileSync(join(copied, 'main.cache'), readFileSync(join(copied, other)));
      for (const name of caches.filter((name) => name !== 'main.cache')) {
        const cache = readFileSync(join(copied, name));
        cache.fill(7, 20);
        writeFileSync(join(copied, name), cache);
      }
      const tools = async () => {
        const client = await connectCopy(copy);
        try {
          return (await client.listTools()).tools.map((tool) => tool.name).sort();
        } finally {
          await client.close();
        }
      };
      const expected = await tools();
      expect(expected).toContain('add_numbers');
      for (const name of caches) rmSync(join(copied, name));
      expect(await tools()).toEqual(expected);
    } finally {
      copy.remove();
    }
  });
});
