// A user's path to CPU offload, end to end: a plugin from the scaffolder gets a worker-backed
// tool written as the docs say (a worker module declared in package.json, scope.workers()),
// an app from the scaffolder lists it, and the app's bundle — built with the shared build,
// no config edited — runs it from dist/ copied alone into an empty folder.
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';

const toolsDir = join(import.meta.dirname, '..');
const root = join(toolsDir, '..');
const bin = join(root, 'node_modules', '.bin');
const created: string[] = [];
afterAll(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

/** What `pnpm install` does for a new project: link its workspace and registry dependencies. */
function link(dir: string, extra: Record<string, string> = {}) {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) {
    const source =
      extra[name] ??
      [
        join(root, 'packages', name.replace('@trellis/', '')),
        join(root, 'packages', 'testing', 'node_modules', name),
        join(root, 'packages', 'server', 'node_modules', name),
      ].find(
        (candidate) =>
          name.startsWith('@trellis/') ===
            candidate.startsWith(join(root, 'packages', name.replace('@trellis/', ''))) && existsSync(candidate),
      );
    if (!source) throw new Error(`cannot link ${name}`);
    const target = join(dir, 'node_modules', name);
    mkdirSync(join(target, '..'), { recursive: true });
    symlinkSync(source, target, 'dir');
  }
}

function editJson(file: string, edit: (json: Record<string, unknown>) => void) {
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(json);
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
}

/** A minimal MCP client over stdio: initialize, then one tools/call; resolves with its result. */
async function callOverStdio(
  main: string,
  cwd: string,
  tool: string,
  args: Record<string, unknown>,
): Promise<{ result: { isError?: boolean; content: { text: string }[] }; stderr: string }> {
  const child = spawn(process.execPath, [main], {
    cwd,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const lines = createInterface({ input: child.stdout });
  const answers = new Map<number, (message: Record<string, unknown>) => void>();
  lines.on('line', (line) => {
    const message = JSON.parse(line) as { id?: number };
    if (typeof message.id === 'number') answers.get(message.id)?.(message);
  });
  const request = (id: number, method: string, params: unknown) =>
    new Promise<Record<string, unknown>>((resolve) => {
      answers.set(id, resolve);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    await request(1, 'initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'gen-test', version: '0' },
    });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    const answer = await request(2, 'tools/call', { name: tool, arguments: args });
    return { result: answer.result as never, stderr };
  } finally {
    clearTimeout(timer);
    child.stdin.end();
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

describe('a scaffolded plugin with a worker-backed tool, in a scaffolded app', () => {
  it('builds and runs from the app bundle copied alone, with no build config edited', async () => {
    const suffix = `${process.pid}`;
    const pluginName = `zz-crunch-${suffix}`;
    const pluginDir = join(root, 'packages', `zz-gen-worker-plugin-${suffix}`);
    const appDir = join(root, 'apps', `zz-gen-worker-app-${suffix}`);
    created.push(pluginDir, appDir);

    // 1. The plugin, from the scaffolder, then the worker-backed tool written as the docs say.
    const plugin = run(
      process.execPath,
      [join(toolsDir, 'trellis.mjs'), 'new', 'plugin', pluginName, '--dir', pluginDir, '--no-install'],
      toolsDir,
    );
    expect(plugin.status, plugin.output).toBe(0);
    const tsupConfig = readFileSync(join(pluginDir, 'tsup.config.ts'), 'utf8');
    editJson(join(pluginDir, 'package.json'), (json) => {
      json.trellis = { workers: { fib: './src/fib.worker.ts' } };
    });
    writeFileSync(
      join(pluginDir, 'src', 'fib.worker.ts'),
      [
        '/** CPU-bound on purpose: runs on a worker thread. */',
        'export default function fib({ n }: { n: number }): number {',
        '  return n < 2 ? n : fib({ n: n - 1 }) + fib({ n: n - 2 });',
        '}',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(pluginDir, 'src', 'index.ts'),
      [
        "import { definePlugin } from '@trellis/server';",
        "import { z } from 'zod';",
        '',
        '/** Fibonacci numbers, computed on a worker thread. */',
        'export function crunch() {',
        '  return definePlugin({',
        `    name: '${pluginName}',`,
        '    setup(scope) {',
        "      const pool = scope.workers('fib', { from: import.meta.url });",
        '      scope.tools.add({',
        "        name: 'fib',",
        "        description: 'The n-th Fibonacci number, computed on a worker thread',",
        '        input: z.object({ n: z.number().int().min(0).max(35) }),',
        '        handler: async ({ n }, ctx) => String(await pool.run<number>({ n }, { signal: ctx.signal })),',
        '      });',
        '    },',
        '  });',
        '}',
        '',
      ].join('\n'),
    );
    rmSync(join(pluginDir, 'src', 'index.test.ts'));
    link(pluginDir);
    // The library build's declaration step type-checks the plugin as well.
    const step = run(join(bin, 'tsup'), [], pluginDir);
    expect(step.status, step.output).toBe(0);
    // The library build emits the worker as its own file, beside the entry that finds it.
    expect(existsSync(join(pluginDir, 'dist', 'workers', 'fib.js'))).toBe(true);
    expect(readFileSync(join(pluginDir, 'tsup.config.ts'), 'utf8')).toBe(tsupConfig);

    // 2. The app, from the scaffolder, listing the plugin.
    const app = run(
      process.execPath,
      [join(toolsDir, 'trellis.mjs'), 'new', 'app', `zz-app-${suffix}`, '--dir', appDir, '--no-install'],
      toolsDir,
    );
    expect(app.status, app.output).toBe(0);
    const appTsup = readFileSync(join(appDir, 'tsup.config.ts'), 'utf8');
    editJson(join(appDir, 'package.json'), (json) => {
      (json.dependencies as Record<string, string>)[`@trellis/${pluginName}`] = 'workspace:*';
    });
    const main = readFileSync(join(appDir, 'src', 'main.ts'), 'utf8');
    writeFileSync(
      join(appDir, 'src', 'main.ts'),
      `import { crunch } from '@trellis/${pluginName}';\n${main.replace('plugins: []', 'plugins: [crunch()]')}`,
    );
    link(appDir, { [`@trellis/${pluginName}`]: pluginDir });
    const built = run(join(bin, 'tsup'), [], appDir);
    expect(built.status, built.output).toBe(0);
    expect(readFileSync(join(appDir, 'tsup.config.ts'), 'utf8')).toBe(appTsup);
    // Beside main.js sit the code-split chunks it loads on demand (chunk-*.js), the start's scripts and
    // code cache (start/), the pool library's own worker and the declared workers.
    const shipped = readdirSync(join(appDir, 'dist')).filter((name) => !/^chunk-.*\.js$/.test(name));
    expect(shipped.sort()).toEqual(['main.js', 'start', 'worker.js', 'workers']);
    expect(readdirSync(join(appDir, 'dist', 'start'))).toContain('main.cache');
    expect(readdirSync(join(appDir, 'dist', 'workers'))).toEqual(['fib.js']);

    // 3. dist/ copied alone, far from node_modules: the tool runs on a worker thread.
    const home = mkdtempSync(join(tmpdir(), 'trellis-gen-worker-'));
    created.push(home);
    cpSync(join(appDir, 'dist'), join(home, 'dist'), { recursive: true });
    const { result, stderr } = await callOverStdio(join(home, 'dist', 'main.js'), home, 'fib', { n: 25 });
    expect(result.isError, stderr).toBeFalsy();
    expect(result.content[0]!.text).toBe('75025');

    // 4. A bundle that lost the pool library's worker answers with a clear isError, never a hang.
    rmSync(join(home, 'dist', 'worker.js'));
    const broken = await callOverStdio(join(home, 'dist', 'main.js'), home, 'fib', { n: 5 });
    expect(broken.result.isError).toBe(true);
    expect(broken.result.content[0]!.text).toBe(
      'The "fib" worker cannot start, so this cannot be done now; the server log has the details.',
    );
    expect(broken.stderr).toMatch(/cannot start a worker: Cannot find module .*worker\.js/);
  });
});
