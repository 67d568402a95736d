// docs/python-guides.md, kept honest: every ```ts example=<id> block is written out with the
// hidden check that follows it (<!-- check <id> … -->), the lot is type-checked with tsc, and
// each check runs, driving its example through a real MCP client.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_DIR, DIST } from './helpers.js';

const ROOT = join(APP_DIR, '..', '..');
const PAGE = readFileSync(join(ROOT, 'docs', 'python-guides.md'), 'utf8');

interface Example {
  id: string;
  code: string;
  check: string;
}

function examplesOf(markdown: string): Example[] {
  const checks = new Map<string, string>();
  for (const match of markdown.matchAll(/<!-- check ([a-z-]+)\n([\s\S]*?)\n-->/g)) checks.set(match[1]!, match[2]!);
  return [...markdown.matchAll(/```ts example=([a-z-]+)\n([\s\S]*?)\n```/g)].map((match) => ({
    id: match[1]!,
    code: match[2]!,
    check: checks.get(match[1]!) ?? '',
  }));
}

/** Blocks that name the file they are (`// src/x.worker.ts` on their first line). */
function workersOf(markdown: string): { name: string; code: string }[] {
  return [...markdown.matchAll(/```ts\n\/\/ src\/([a-z-]+)\.worker\.ts\n([\s\S]*?)\n```/g)].map((match) => ({
    name: match[1]!,
    code: match[2]!,
  }));
}

/** The checks' helpers, written beside them. */
const HARNESS = `
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { createServer, type AnyPlugin } from '@trellis/server';
import { connectInProcess, textOf } from '@trellis/testing';
import pino from 'pino';
// @ts-expect-error: a plain .mjs script of the workspace, typed in its .d.mts
import { startTestPostgres } from ${JSON.stringify(pathToFileURL(join(ROOT, 'tools', 'postgres.mjs')).href)};

type InProcessClient = Awaited<ReturnType<typeof connectInProcess>>['client'];

/** Starts a server of these plugins, connects a real client, runs body, closes both; resolves with the log records. */
export async function withClient(plugins: AnyPlugin[], body: (client: InProcessClient, text: (result: unknown) => string) => Promise<void>, env: Record<string, string> = {}): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk: Buffer, _encoding, done) { for (const line of chunk.toString('utf8').split('\\n')) if (line.trim()) records.push(JSON.parse(line)); done(); } });
  const server = createServer({ name: 'guide', version: '0.0.0', plugins, logger: pino({ level: 'debug' }, stream), configSources: { argv: [], env, envFiles: [] } });
  await server.start();
  const { client, close } = await connectInProcess(server, { era: 'modern' });
  try {
    await body(client, textOf);
  } finally {
    await close();
    await server.close({ graceMs: 1000 });
  }
  return records;
}

/** A throwaway PostgreSQL with this SQL run in it. */
export async function withPostgres(sql: string, body: (url: string) => Promise<void>): Promise<void> {
  const db = await startTestPostgres();
  try {
    const pg = createRequire(${JSON.stringify(join(ROOT, 'packages', 'postgres', 'package.json'))})('pg');
    const setup = new pg.Client({ connectionString: db.url });
    await setup.connect();
    await setup.query(sql);
    await setup.end();
    await body(db.url);
  } finally {
    await db.destroy();
  }
}

/** The desktop client configuration shown on the page. */
export function desktopConfig(): { mcpServers: Record<string, { command: string; args: string[]; env?: Record<string, string> }> } {
  return JSON.parse(${JSON.stringify(/```json desktop-config\n([\s\S]*?)\n```/.exec(PAGE)?.[1] ?? '{}')});
}

/** Starts the first server of a desktop configuration as a desktop client would (the reference bundle for /path/to/dist/main.js); its tool names. */
export async function runDesktopConfig(config: ReturnType<typeof desktopConfig>): Promise<string[]> {
  const [entry] = Object.values(config.mcpServers);
  const args = entry!.args.map((arg) => arg.replace('/path/to/dist/main.js', ${JSON.stringify(join(DIST, 'main.js'))}));
  const command = entry!.command === 'node' ? process.execPath : entry!.command;
  const client = new Client({ name: 'desktop', version: '0.0.0' });
  await client.connect(new StdioClientTransport({ command, args, env: { PATH: process.env.PATH ?? '', ...entry!.env }, stderr: 'ignore' }));
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}
`;

const examples = examplesOf(PAGE);
const dir = mkdtempSync(join(tmpdir(), 'trellis-python-guides-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  // Resolved like any file of this app: its node_modules, its tsconfig.
  symlinkSync(join(APP_DIR, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'harness.ts'), HARNESS);
  for (const example of examples) writeFileSync(join(dir, `${example.id}.ts`), `${example.code}\n\n${example.check}\n`);
  // tsc reads the packages' built declarations (built before this app's tests), not their sources: the examples are what is checked.
  // A declared worker, as the builds would emit it: compiled to workers/<name>.js beside the examples.
  mkdirSync(join(dir, 'workers'));
  for (const worker of workersOf(PAGE)) {
    const js = ts.transpileModule(worker.code, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    writeFileSync(join(dir, 'workers', `${worker.name}.js`), js);
  }
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.base.json'),
      compilerOptions: { types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')], customConditions: [] },
      include: ['*.ts'],
    }),
  );
});

describe('docs/python-guides.md', () => {
  it('pairs each seed pattern with an example and a check', () => {
    expect(examples.map((e) => e.id)).toEqual([
      'task-group',
      'settle-all',
      'semaphore',
      'deadline',
      'pooled-http',
      'pooled-db',
      'workers',
      'background',
      'cancellation',
      'ttl-cache',
      'config',
      'logging',
      'files',
      'prompt',
      'app',
    ]);
    for (const example of examples) expect(example.check, example.id).toMatch(/export async function check\(\)/);
    expect(workersOf(PAGE).map((w) => w.name)).toEqual(['checksum']);
  });

  it('type-checks every example with its check', () => {
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const result = spawnSync(tsc, ['-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  }, 120_000);

  it.each(examples.map((e) => e.id))(
    'runs the %s example through a real client',
    async (id) => {
      const module = (await import(pathToFileURL(join(dir, `${id}.ts`)).href)) as { check(): Promise<void> };
      await module.check();
    },
    60_000,
  );
});
