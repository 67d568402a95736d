// The release as a user receives it: every publishable package packed into a tarball, installed with npm into
// an empty folder outside the workspace, a small server built (type-checked against the published
// declarations) and run from the packed libraries, and the packed reference app run the way a desktop
// client runs it (`npx -y @trellis-app/reference`), both over stdio with the official SDK client.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packAll, publishablePackages } from '../pack.mjs';

interface Packed {
  name: string;
  version: string;
  kind: 'library' | 'app';
  tarball: string;
}

const workspaceRoot = join(import.meta.dirname, '..', '..');
const tsc = join(workspaceRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const APP = '@trellis-app/reference';
let scratch: string;
let consumer: string;
let packed: Packed[];

function tarFile(tarball: string, path: string): string {
  return execFileSync('tar', ['-xzOf', tarball, `package/${path}`], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

function tarList(tarball: string): string[] {
  return execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
}

/** Environment for child processes: no workspace PATH entries, no colour, npm kept offline where it can be. */
function childEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('npm_') && !key.startsWith('VITEST') && key !== 'NODE_OPTIONS')
      env[key] = value;
  }
  return {
    ...env,
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

async function withStdioClient<T>(command: string, args: string[], body: (client: Client) => Promise<T>): Promise<T> {
  const transport = new StdioClientTransport({ command, args, cwd: consumer, env: childEnv(), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'pack-test', version: '0.0.0' });
  try {
    await client.connect(transport);
    return await body(client);
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')} failed: ${String(error)}\n--- stderr ---\n${stderr.slice(-4000)}`);
  } finally {
    await client.close().catch(() => undefined);
  }
}

const SERVER_SOURCE = `import { definePlugin, ToolError } from '@trellis/server';
import { run } from '@trellis/transport';
import { Semaphore } from '@trellis/concurrency';
import { z } from 'zod';

const shout = () => {
  const limit = new Semaphore(2);
  return definePlugin({
    name: 'shout',
    config: z.object({ SHOUT_SUFFIX: z.string().default('!') }),
    setup(scope) {
      scope.tools.add({
        name: 'shout',
        description: 'Upper-cases a text',
        input: z.object({ text: z.string().min(1) }),
        output: z.object({ shouted: z.string() }),
        handler: ({ text }) =>
          limit.run(() => {
            if (text === 'boom') throw new ToolError('refusing to shout boom');
            return { structuredContent: { shouted: text.toUpperCase() + scope.config.SHOUT_SUFFIX } };
          }),
      });
    },
  });
};

// The published declarations are real types, not \`any\`: this misuse must be an error.
// @ts-expect-error a plugin needs a name
definePlugin({ setup() {} });

void run({ name: 'packed-consumer', version: '1.0.0', plugins: [shout()] });
`;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'trellis-pack-'));
  packed = await packAll(join(scratch, 'tarballs'));
  consumer = join(scratch, 'consumer');
  execFileSync('mkdir', ['-p', consumer]);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
  );
  const tarballs = packed.filter((pkg) => pkg.kind === 'library' || pkg.name === APP).map((pkg) => pkg.tarball);
  const install = spawnSync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      '--ignore-scripts',
      ...tarballs,
      'zod@^4',
      '@types/node@^20',
    ],
    {
      cwd: consumer,
      encoding: 'utf8',
      env: childEnv(),
    },
  );
  if (install.status !== 0)
    throw new Error(`npm install of the tarballs failed (exit ${install.status}):\n${install.stderr}`);
}, 240_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('packed packages', () => {
  it('packs every library and app that is not private', () => {
    const names = publishablePackages().map((pkg: { name: string }) => pkg.name);
    expect(names).toContain('@trellis/server');
    expect(names).toContain(APP);
    expect(names).not.toContain('@trellis/reference-plugins');
    expect(names).not.toContain('@trellis/conformance-fixtures');
    expect(packed.map((pkg) => pkg.name)).toEqual(names);
  });

  it('publish manifests point at dist/ only, with real versions and no workspace wiring', () => {
    for (const pkg of packed) {
      const manifestText = tarFile(pkg.tarball, 'package.json');
      const manifest = JSON.parse(manifestText);
      expect(manifestText, pkg.name).not.toContain('workspace:');
      expect(manifestText, pkg.name).not.toContain('@trellis/source');
      expect(manifestText, pkg.name).not.toMatch(/"\.\/src\//);
      expect(manifest.scripts, pkg.name).toBeUndefined();
      expect(manifest.devDependencies, pkg.name).toBeUndefined();
      expect(manifest.private, pkg.name).toBeUndefined();
      const files = tarList(pkg.tarball);
      expect(
        files.filter((file) => file.startsWith('package/src/')),
        pkg.name,
      ).toEqual([]);
      expect(files, pkg.name).toContain('package/CHANGELOG.md');
      expect(files, pkg.name).toContain('package/README.md');
      if (pkg.kind === 'library') {
        for (const [subpath, target] of Object.entries(
          manifest.exports as Record<string, { types: string; default: string }>,
        )) {
          expect(Object.keys(target), `${pkg.name} ${subpath}`).toEqual(['types', 'default']);
          expect(files, `${pkg.name} ${subpath}`).toContain(`package/${target.types.slice(2)}`);
          expect(files, `${pkg.name} ${subpath}`).toContain(`package/${target.default.slice(2)}`);
        }
        for (const [dep, range] of Object.entries((manifest.dependencies ?? {}) as Record<string, string>)) {
          if (dep.startsWith('@trellis/'))
            expect(range, `${pkg.name} → ${dep}`).toBe(packed.find((p) => p.name === dep)?.version);
        }
      } else {
        // The bundle carries everything: installing the app asks the registry for nothing else.
        expect(manifest.dependencies, pkg.name).toBeUndefined();
        expect(Object.values(manifest.bin as Record<string, string>), pkg.name).toEqual(['./dist/main.js']);
        expect(tarFile(pkg.tarball, 'dist/main.js').startsWith('#!/usr/bin/env node'), pkg.name).toBe(true);
      }
    }
  });

  it('a server built from the installed libraries type-checks against their published declarations and serves over stdio', async () => {
    writeFileSync(join(consumer, 'server.ts'), SERVER_SOURCE);
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2023',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          outDir: 'build',
          types: ['node'],
        },
        files: ['server.ts'],
      }),
    );
    const compiled = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer, encoding: 'utf8' });
    expect(compiled.status, compiled.stdout + compiled.stderr).toBe(0);

    await withStdioClient(process.execPath, ['build/server.js'], async (client) => {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(['shout']);
      const result = await client.callTool({ name: 'shout', arguments: { text: 'hello' } });
      expect(result.structuredContent).toEqual({ shouted: 'HELLO!' });
      const refused = await client.callTool({ name: 'shout', arguments: { text: 'boom' } });
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused.content)).toContain('refusing to shout boom');
    });
  });

  it(`the packed app runs as \`npx -y ${APP}\` over stdio`, async () => {
    const manifest = JSON.parse(readFileSync(join(consumer, 'node_modules', APP, 'package.json'), 'utf8'));
    expect(manifest.dependencies).toBeUndefined();
    await withStdioClient('npx', ['-y', APP], async (client) => {
      expect(client.getServerVersion()?.name).toBe('trellis-reference');
      const result = await client.callTool({ name: 'add_numbers', arguments: { a: 2, b: 40 } });
      expect(result.structuredContent).toEqual({ sum: 42 });
      const { resources } = await client.listResources();
      expect(resources.length).toBeGreaterThan(0);
    });
  });
});
