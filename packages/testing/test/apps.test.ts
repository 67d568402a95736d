import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as appsFromSource from '@trellis/testing/apps';
import {
  AppProcessError,
  CLIENT_KINDS,
  connectBundle,
  copyDistAlone,
  inspectorCli,
  prepareInspector,
  runBundle,
  startHttpBundle,
  type BundleConnection,
  type HttpBundle,
} from '@trellis/testing/apps';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawText } from '../../../tsup.shared.ts';

// A tiny Trellis app, bundled the way appBuild bundles an app: one ESM file, every
// dependency inside, plus an asset it reads at run time from beside itself.
const FIXTURE = `
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { definePlugin } from '@trellis/server';
import { run } from '@trellis/transport';
import { z } from 'zod';

const fixture = definePlugin({
  name: 'fixture',
  config: z.object({ FIXTURE_GREETING: z.string().default('hello') }),
  setup(scope) {
    scope.tools.add({
      name: 'greet',
      description: 'Greets someone with the configured greeting',
      input: z.object({ name: z.string() }),
      handler: ({ name }) => scope.config.FIXTURE_GREETING + ', ' + name,
    });
    scope.tools.add({ name: 'era', description: 'The protocol era of this request', handler: (_args, ctx) => ctx.era });
    scope.tools.add({
      name: 'getenv',
      description: 'One environment variable of the server process',
      input: z.object({ name: z.string() }),
      handler: ({ name }) => process.env[name] ?? '(unset)',
    });
    scope.tools.add({ name: 'asset', description: 'Reads asset.txt beside the bundle', handler: () => readFileSync(join(import.meta.dirname, 'asset.txt'), 'utf8') });
  },
});

void run({ name: 'trellis-fixture', version: '0.0.0', description: 'The testing helpers fixture.', plugins: [fixture] });
`;

const BANNER = [
  "import { createRequire as __trellisCreateRequire } from 'node:module';",
  'const require = __trellisCreateRequire(import.meta.url);',
].join('\n');

let workdir: string;
let dist: string;
let bundle: string;

beforeAll(async () => {
  const tsupDir = dirname(createRequire(import.meta.url).resolve('tsup/package.json'));
  const esbuild = createRequire(join(tsupDir, 'package.json'))('esbuild') as {
    build(options: Record<string, unknown>): Promise<unknown>;
  };
  workdir = mkdtempSync(join(tmpdir(), 'trellis-testing-apps-'));
  dist = join(workdir, 'dist');
  mkdirSync(dist);
  bundle = join(dist, 'main.js');
  await esbuild.build({
    stdin: { contents: FIXTURE, resolveDir: import.meta.dirname, loader: 'ts', sourcefile: 'fixture-app.ts' },
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@trellis/source', 'node'],
    banner: { js: BANNER },
    // The status page's assets are imported as text (`?raw`), as in the app builds.
    plugins: [rawText],
    logLevel: 'error',
  });
  writeFileSync(join(dist, 'asset.txt'), 'shipped beside the bundle');
}, 120_000);
afterAll(() => {
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

const textOf = (result: { content?: { text?: string }[] }) =>
  (result.content ?? []).map((c) => c.text ?? '').join('\n');
const ERA: Record<string, string> = { v1: 'legacy', v2: 'legacy', 'v2-modern': 'modern' };

async function exercise(app: BundleConnection): Promise<void> {
  const { tools } = await app.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual(['asset', 'era', 'getenv', 'greet']);
  expect(textOf(await app.callTool({ name: 'greet', arguments: { name: 'Ada' } }))).toBe('howdy, Ada');
  expect(textOf(await app.callTool({ name: 'era', arguments: {} }))).toBe(ERA[app.kind]);
  const settings = await app.readResource({ uri: 'config://settings' });
  expect(JSON.parse(settings.contents[0]!.text!)).toMatchObject({ FIXTURE_GREETING: 'howdy' });
}

describe('startHttpBundle', () => {
  let http: HttpBundle;
  beforeAll(async () => {
    process.env.TRELLIS_TESTING_CANARY = 'from the test runner';
    http = await startHttpBundle({ bundle, env: { FIXTURE_GREETING: 'howdy' } });
  });
  afterAll(async () => {
    delete process.env.TRELLIS_TESTING_CANARY;
    await http?.stop();
  });

  it('serves on 127.0.0.1 at the URL announced on stderr', async () => {
    expect(http.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(http.base).toBe(http.url.replace(/\/mcp$/, ''));
    expect((await fetch(`${http.base}/healthz`)).status).toBe(200);
    expect(http.output()).toContain('trellis-fixture is serving MCP on');
  });

  it.each(CLIENT_KINDS)('is reached by the %s client over HTTP', async (kind) => {
    const app = await connectBundle({ transport: 'http', client: kind, url: http.url });
    try {
      expect(app.transport).toBe('http');
      await exercise(app);
      // Only PATH, HOME, quiet logs and the given variables reach the app.
      expect(textOf(await app.callTool({ name: 'getenv', arguments: { name: 'TRELLIS_TESTING_CANARY' } }))).toBe(
        '(unset)',
      );
      expect(textOf(await app.callTool({ name: 'getenv', arguments: { name: 'NO_COLOR' } }))).toBe('1');
    } finally {
      await app.close();
    }
  });

  it('stops with SIGTERM and reports the exit code', async () => {
    const other = await startHttpBundle({ bundle });
    expect(await other.stop()).toBe(0);
    // A second stop is harmless.
    expect(await other.stop()).toBe(0);
  });

  it('kill() sends SIGKILL by default (a crash: no shutdown) and waits for the exit', async () => {
    const other = await startHttpBundle({ bundle });
    expect(other.pid).toBeGreaterThan(0);
    await other.kill();
    expect(() => process.kill(other.pid, 0)).toThrow();
    await expect(fetch(`${other.base}/healthz`)).rejects.toThrow();
    // stop() after a kill is harmless; a killed process has no exit code.
    expect(await other.stop()).toBeNull();
  });

  it('rejects with BUNDLE_EXITED and the output when the app refuses to start', async () => {
    const failure = await startHttpBundle({ bundle, env: { LOG_LEVEL: 'loud' } }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AppProcessError);
    expect((failure as AppProcessError).code).toBe('BUNDLE_EXITED');
    expect((failure as AppProcessError).message).toContain('LOG_LEVEL');
  });

  it('names a missing bundle option', async () => {
    await expect(startHttpBundle({} as never)).rejects.toThrow(/option "bundle"/);
  });
});

describe('connectBundle over stdio', () => {
  it.each(CLIENT_KINDS)('spawns the bundle for the %s client', async (kind) => {
    const app = await connectBundle({
      bundle,
      transport: 'stdio',
      client: kind,
      env: { FIXTURE_GREETING: 'howdy', LOG_LEVEL: 'info' },
    });
    try {
      expect(app.kind).toBe(kind);
      await exercise(app);
    } finally {
      await app.close();
    }
  });

  it('validates its options, naming the one that is wrong', async () => {
    await expect(connectBundle({ transport: 'http', client: 'v2' })).rejects.toThrow(/option "url"/);
    await expect(connectBundle({ transport: 'stdio', client: 'v2' })).rejects.toThrow(/option "bundle"/);
    await expect(connectBundle({ transport: 'pipe', client: 'v2', bundle } as never)).rejects.toThrow(
      /option "transport"/,
    );
    await expect(connectBundle({ transport: 'stdio', client: 'v3', bundle } as never)).rejects.toThrow(
      /option "client"/,
    );
  });

  it('puts what the app wrote to stderr in the error when it cannot connect', async () => {
    await expect(
      connectBundle({ bundle, transport: 'stdio', client: 'v2', env: { LOG_LEVEL: 'loud' } }),
    ).rejects.toThrow(/LOG_LEVEL/);
  });
});

describe('runBundle', () => {
  it('runs the bundle to completion', () => {
    const help = runBundle(bundle, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('The testing helpers fixture.');
    const bad = runBundle(bundle, [], { TRELLIS_TRANSPORT: 'pigeon' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('TRELLIS_TRANSPORT');
  });
});

describe('copyDistAlone', () => {
  it('copies dist/ alone into an empty temp folder, where it runs with only Node', async () => {
    const copy = copyDistAlone(dist, 'trellis-testing-alone-');
    try {
      expect(readdirSync(copy.home)).toEqual(['dist']);
      expect(readdirSync(copy.dist).sort()).toEqual(['asset.txt', 'main.js']);
      for (let dir = copy.home; dir !== dirname(dir); dir = dirname(dir))
        expect(existsSync(join(dir, 'node_modules')), dir).toBe(false);
      const app = await connectBundle({
        bundle: copy.main,
        cwd: copy.home,
        transport: 'stdio',
        client: 'v2-modern',
        env: { PATH: dirname(process.execPath) },
      });
      try {
        expect(textOf(await app.callTool({ name: 'asset', arguments: {} }))).toBe('shipped beside the bundle');
      } finally {
        await app.close();
      }
    } finally {
      copy.remove();
    }
    expect(existsSync(copy.home)).toBe(false);
  });

  it('refuses a folder without main.js', () => {
    expect(() => copyDistAlone(workdir)).toThrow(/holds no main\.js/);
  });
});

describe('inspectorCli (the MCP Inspector on Node 22)', () => {
  let http: HttpBundle;
  beforeAll(async () => {
    await prepareInspector();
    http = await startHttpBundle({ bundle, env: { FIXTURE_GREETING: 'howdy' } });
  }, 600_000);
  afterAll(async () => {
    await http?.stop();
  });

  it('lists and calls tools over stdio, with variables for the server', { timeout: 180_000 }, async () => {
    const listed = await inspectorCli([process.execPath, bundle, '--method', 'tools/list']);
    expect(listed.code).toBe(0);
    expect((listed.json.tools as { name: string }[]).map((t) => t.name)).toContain('greet');
    const called = await inspectorCli(
      [process.execPath, bundle, '--method', 'tools/call', '--tool-name', 'greet', '--tool-arg', 'name=Ada'],
      {
        serverEnv: { FIXTURE_GREETING: 'hey' },
      },
    );
    expect(textOf(called.json as { content?: { text?: string }[] })).toBe('hey, Ada');
  });

  it('lists and calls tools over HTTP', { timeout: 180_000 }, async () => {
    const listed = await inspectorCli([http.url, '--transport', 'http', '--method', 'tools/list']);
    expect((listed.json.tools as { name: string }[]).map((t) => t.name)).toContain('greet');
    const called = await inspectorCli([
      http.url,
      '--transport',
      'http',
      '--method',
      'tools/call',
      '--tool-name',
      'greet',
      '--tool-arg',
      'name=Ada',
    ]);
    expect(textOf(called.json as { content?: { text?: string }[] })).toBe('howdy, Ada');
  });

  it('rejects with INSPECTOR_NO_JSON when the Inspector prints no result', { timeout: 180_000 }, async () => {
    const failure = await inspectorCli([process.execPath, join(workdir, 'missing.js'), '--method', 'tools/list'], {
      timeoutMs: 60_000,
    }).catch((error: unknown) => error);
    expect((failure as AppProcessError).code).toBe('INSPECTOR_NO_JSON');
  });
});

describe('the ./apps subpath', () => {
  const root = join(import.meta.dirname, '..');
  const exportsMap = (
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> }
  ).exports;

  it('is in the exports map with the same shape as the root entry', () => {
    expect(Object.keys(exportsMap['./apps']!)).toEqual(Object.keys(exportsMap['.']!));
    expect(exportsMap['./apps']).toEqual({
      '@trellis/source': './src/apps/index.ts',
      types: './dist/apps.d.ts',
      default: './dist/apps.js',
    });
    expect(existsSync(join(root, exportsMap['./apps']!['@trellis/source']!))).toBe(true);
  });

  // nx runs this package's build before its tests (package.json "nx" dependsOn).
  it('builds to dist/apps.js with the same exports as the source', async () => {
    const built = (await import(join(root, 'dist', 'apps.js'))) as Record<string, unknown>;
    expect(Object.keys(built).sort()).toEqual(Object.keys(appsFromSource).sort());
    expect(existsSync(join(root, 'dist', 'apps.d.ts'))).toBe(true);
  });
});
