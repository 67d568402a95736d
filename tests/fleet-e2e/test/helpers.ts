import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fleet } from '@trellis/fleet';
import { createServer, type AnyPlugin, type TrellisServer } from '@trellis/server';
import { createHttpTransport, type HttpTransport } from '@trellis/transport';
import { bundleFixture } from '../../../tools/bundle-fixture.ts';
import { postJsonRpc, type JsonRpcAnswer } from '../../../tools/json-rpc-post.ts';
import { schemaOwnerUrl } from '../../../tools/postgres.mjs';
import { fleetTestTools, type Probe } from './fixtures/tools.js';

export { admin, startTestPostgres, freePort } from '../../../tools/postgres.mjs';
export type { TestPostgres } from '../../../tools/postgres.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export const TASKS = 'io.modelcontextprotocol/tasks';
export const FLEET_PASSWORD = 'fleet-s3cret-pw';

/**
 * The README's grants: a login role that owns the fleet's schema and nothing
 * else. Returns the URL the instances use.
 */
export function fleetRoleUrl(url: string): Promise<string> {
  return schemaOwnerUrl(url, { role: 'trellis_fleet', password: FLEET_PASSWORD });
}

export interface Instance {
  server: TrellisServer;
  http: HttpTransport;
  url: string;
  probe: Probe;
}

/** An in-process instance: its own server, fleet plugin (pool, LISTEN connection) and HTTP port. */
export async function startInstance(env: Record<string, string>, extra: AnyPlugin[] = []): Promise<Instance> {
  const probe: Probe = { aborts: [], resumed: 0 };
  const server = createServer({
    name: 'fleet-test',
    version: '1.0.0',
    plugins: [fleet(), fleetTestTools(probe), ...extra],
    configSources: { argv: [], env: { LOG_LEVEL: 'silent', ...env }, envFiles: [] },
  });
  await server.start();
  const http = createHttpTransport(server, { port: 0, host: '127.0.0.1' });
  await http.listen();
  return { server, http, url: http.url, probe };
}

/**
 * The delay the issue allows between a change (or a cancel, or an answer) on one instance and its effect on
 * another: one second. On a machine whose load passes its core count the bound widens to five, so that the
 * test says "it arrives, promptly" without failing on someone else's build; the bench measures the delay itself.
 */
export function promptlyMs(): number {
  return loadavg()[0]! > cpus().length ? 5_000 : 1_000;
}

let nextId = 1;
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'fleet-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': { elicitation: {}, extensions: { [TASKS]: {} } },
};

/**
 * One 2026-07-28 request over HTTP, as a tasks client sends it (the routing
 * headers, the envelope declaring the extension): the result, or the error.
 */
export async function rpc(url: string, method: string, params: Record<string, unknown> = {}): Promise<JsonRpcAnswer> {
  return postJsonRpc(url, { id: nextId++, method, params: { ...params, _meta: ENVELOPE } });
}

/** Starts `tool` as a task and returns its id. */
export async function startTask(url: string, tool: string, args: Record<string, unknown> = {}): Promise<string> {
  const answer = await rpc(url, 'tools/call', { name: tool, arguments: args });
  const taskId = answer.result?.taskId;
  if (typeof taskId !== 'string') throw new Error(`${tool} did not become a task: ${JSON.stringify(answer)}`);
  return taskId;
}

export async function taskOn(url: string, taskId: string): Promise<Record<string, unknown>> {
  const answer = await rpc(url, 'tasks/get', { taskId });
  if (!answer.result) throw new Error(`tasks/get failed: ${JSON.stringify(answer.error)}`);
  return answer.result;
}

/** Polls `check` until it returns true (generous limit: the machine may be loaded). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string,
  limitMs = 20_000,
): Promise<void> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for: ${what}`);
}

/** Bundles the fixture app (run() from @trellis/transport) into one file, as an app build does. */
export function buildFixtureApp(): Promise<string> {
  return bundleFixture(join(here, 'fixtures/app.ts'), 'fleet');
}

/** A real instance process running the fixture app over HTTP; resolves once it serves. */
export async function spawnInstance(
  file: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const port = await (await import('../../../tools/postgres.mjs')).freePort();
  const child = spawn(process.execPath, [file], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', TRELLIS_TRANSPORT: 'http', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}/mcp`;
  await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`the instance exited: ${stderr}`);
      return stderr.includes('is serving MCP on');
    },
    'the instance to serve',
    30_000,
  );
  return { child, url, stderr: () => stderr };
}
