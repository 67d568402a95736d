import { spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The second half of an app build (after tsup's ES module bundle): a start through V8's code cache.
 *
 * Node 20 has no compile cache for ES modules, and compiling the bundle was about a third of a cold
 * start. So every module of the bundle that the main thread runs (`main.js` and its `chunk-*.js`) is
 * also written as a CommonJS-style script, `start/<name>.cjs` (esbuild's ES-module-to-CommonJS
 * transform of that one file, in a function wrapper); `main.js` becomes the loader
 * (tools/app-start-loader.mjs), which runs those scripts with `vm.Script` and their code cache; and a
 * training start (the app answering `initialize`, `tools/list` and `server/discover` over stdio, then
 * stdin closed) writes `start/<name>.cache` for every script a start runs. The ES module chunks stay for
 * worker threads. Chunks reached only by `import()` become `require()` calls made when that code runs,
 * so features that are off still read nothing.
 */

/** The banner tsup puts on every ES module file of an app build (see tsup.shared.ts). */
export const BANNER = [
  '#!/usr/bin/env node',
  "import { createRequire as __trellisCreateRequire } from 'node:module';",
  "import { fileURLToPath as __trellisFileURLToPath } from 'node:url';",
  "import { dirname as __trellisDirname } from 'node:path';",
  'const require = __trellisCreateRequire(import.meta.url);',
  'const __filename = __trellisFileURLToPath(import.meta.url);',
  'const __dirname = __trellisDirname(__filename);',
].join('\n');

/**
 * The wrapper's parameters: what the banner gave the ES module, given by the loader instead. Strict mode, as
 * the ES module was (no sloppy `this`, silent failed writes or implicit globals).
 */
const WRAPPER_HEAD =
  "(function (exports, require, module, __filename, __dirname, __trellisImportMetaUrl) {'use strict';";

/** esbuild's `// <path>` comment before each module, which the bench's profiles map lines by. */
const MODULE_COMMENT = /^(\s*)\/\/ (\S+\.(?:m?[jt]s|json))$/gm;
const KEPT_COMMENT = /^(\s*)\/\/! (\S+\.(?:m?[jt]s|json))$/gm;

interface TransformResult {
  code: string;
  warnings: { text: string }[];
}
type Transform = (source: string, options: Record<string, unknown>) => Promise<TransformResult>;

/** What the build and the tests use of esbuild. */
export interface Esbuild {
  transform: Transform;
  build(options: Record<string, unknown>): Promise<unknown>;
}

/** tsup's own esbuild: the one that builds the bundles (the workspace does not depend on esbuild itself). */
export function tsupEsbuild(): Esbuild {
  const fromTsup = createRequire(createRequire(import.meta.url).resolve('tsup'));
  return fromTsup('esbuild') as Esbuild;
}

/** One ES module file of the bundle as the body of a CommonJS-style script. */
export async function toStartScript(file: string, source: string, transform: Transform): Promise<string> {
  if (!source.startsWith(`${BANNER}\n`)) throw new Error(`${file}: does not start with the app build's banner`);
  const result = await transform(source.slice(BANNER.length + 1).replace(MODULE_COMMENT, '$1//! $2'), {
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    sourcefile: file,
    // import() of a chunk becomes a require() of it, run when the import() runs.
    supported: { 'dynamic-import': false },
    legalComments: 'inline',
    define: { 'import.meta.url': '__trellisImportMetaUrl' },
    logLevel: 'silent',
  });
  const problems = result.warnings.filter((warning) => /import\.meta|top-level await/i.test(warning.text));
  if (problems.length > 0) throw new Error(`${file}: ${problems.map((warning) => warning.text).join('; ')}`);
  if (/\bimport\.meta\b/.test(result.code)) throw new Error(`${file}: import.meta is left after the transform`);
  return `${WRAPPER_HEAD}${directExports(file, result.code).replace(KEPT_COMMENT, '$1// $2')}\n})`;
}

/** esbuild's export of a CommonJS module made from an ES module: its exports object copied behind getters. */
const COPIED_EXPORTS = /^module\.exports = __toCommonJS\((\w+)\);$/gm;

/**
 * The module's own exports object as `module.exports`, not esbuild's copy of it. The copy's getters all
 * share one function reading `from[key]` for every name, so each access from another chunk (every call
 * into a function of another chunk) went through two getters, the first one megamorphic — about 1 µs per
 * request served on the hot path, more with telemetry on, whose libraries span several chunks. The
 * module's own getters (one small function per export, so live bindings stay live) are all that is left.
 */
function directExports(file: string, code: string): string {
  const found = [...code.matchAll(COPIED_EXPORTS)];
  if (found.length > 1) throw new Error(`${file}: more than one module.exports after the transform`);
  return code.replace(COPIED_EXPORTS, 'module.exports = __defProp($1, "__esModule", { value: true });');
}

/**
 * Starts the built app once over stdio with the loader in training mode; resolves when it has exited.
 * Telemetry is on in that start (metrics, and OTLP to a receiver of the build's own that accepts
 * everything): the OpenTelemetry chunks it loads get their caches too, so a start with telemetry on
 * compiles nothing either (≈ 16 ms less), while one with it off still reads none of them.
 */
async function trainingStart(dist: string): Promise<void> {
  const receiver = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve, reject) => {
    receiver.once('error', reject);
    receiver.listen(0, '127.0.0.1', () => resolve());
  });
  try {
    await trainingRun(dist, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`);
  } finally {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  }
}

function trainingRun(dist: string, otlpEndpoint: string): Promise<void> {
  // A 2026-07-28 request's params: the client's version, capabilities and info in `_meta`, no handshake.
  const modern = {
    _meta: {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'trellis-build', version: '0.0.0' },
    },
  };
  const requests = [
    {
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'trellis-build', version: '0.0.0' },
      },
    },
    { method: 'notifications/initialized' },
    { id: 2, method: 'tools/list', params: {} },
    { id: 3, method: 'server/discover', params: modern },
    { id: 4, method: 'tools/list', params: modern },
  ];
  return new Promise((resolve) => {
    // Only what a desktop client would pass: no settings of the machine the build runs on.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      TRELLIS_CODE_CACHE: 'write',
      METRICS: 'on',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
    };
    // In an empty folder of its own, so that nothing the app writes lands in dist/.
    const cwd = mkdtempSync(join(tmpdir(), 'trellis-training-start-'));
    const child = spawn(process.execPath, [join(dist, 'main.js'), '--transport', 'stdio'], {
      cwd,
      env,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let answered = 0;
    let buffered = '';
    const stop = setTimeout(() => child.kill('SIGTERM'), 20_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      answered = buffered.split('\n').filter((line) => line.includes('"id"')).length;
      if (answered >= 4) child.stdin.end();
    });
    const done = () => {
      clearTimeout(stop);
      rmSync(cwd, { recursive: true, force: true });
      resolve();
    };
    child.on('error', done);
    child.on('exit', done);
    child.stdin.on('error', () => {});
    child.stdin.write(requests.map((request) => `${JSON.stringify({ jsonrpc: '2.0', ...request })}\n`).join(''));
  });
}

/**
 * Turns an app's tsup output in `dist` into a start through the code cache (see above). A training start
 * that fails (an app that needs settings the build does not have) leaves caches for what it ran, or none:
 * the app then compiles those scripts at start, as before.
 */
export async function buildStartScripts(dist: string): Promise<void> {
  const { transform } = tsupEsbuild();
  const start = join(dist, 'start');
  rmSync(start, { recursive: true, force: true });
  mkdirSync(start);
  const names = readdirSync(dist).filter((name) => /^(?:main|chunk-.+)\.js$/.test(name));
  if (!names.includes('main.js')) throw new Error(`${dist}: no main.js to build a start from`);
  for (const name of names) {
    const file = join(dist, name);
    const script = await toStartScript(file, readFileSync(file, 'utf8'), transform);
    writeFileSync(join(start, name.replace(/\.js$/, '.cjs')), script);
  }
  // No worker imports the entry: its ES module file gives way to the loader.
  copyFileSync(fileURLToPath(new URL('app-start-loader.mjs', import.meta.url)), join(dist, 'main.js'));
  chmodSync(join(dist, 'main.js'), 0o755);
  await trainingStart(dist);
  if (!existsSync(join(start, 'main.cache'))) process.stderr.write(`${dist}: the training start wrote no code cache\n`);
}
