import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AppProcessError } from './process.js';

/** What `ensureConformanceTools()` in tools/conformance.mjs returns, as far as this module uses it. */
export interface InspectorTools {
  /** The isolated Node 22 binary. */
  node: string;
  /** The Inspector's launcher script. */
  inspector: string;
}

let tools: Promise<InspectorTools> | undefined;

/**
 * The workspace's installer lives in tools/conformance.mjs, beside (not inside)
 * the packages. It is found by walking up from this file, so the same code
 * works from src/ and from dist/, and loaded at run time rather than bundled.
 */
function installerPath(): string {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'tools', 'conformance.mjs');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    `tools/conformance.mjs not found above ${import.meta.dirname}: the Inspector helpers run inside the Trellis workspace only`,
  );
}

/**
 * Installs (once per process; the installer caches across processes) Node 22
 * and the MCP Inspector outside the workspace, and returns their paths. Call it
 * in a `beforeAll` with a generous timeout: a cold install downloads them.
 */
export function prepareInspector(): Promise<InspectorTools> {
  tools ??= (async () => {
    const installer = (await import(pathToFileURL(installerPath()).href)) as {
      ensureConformanceTools(): Promise<InspectorTools>;
    };
    return installer.ensureConformanceTools();
  })();
  // A failed install is not cached: the next caller tries again.
  tools.catch(() => (tools = undefined));
  return tools;
}

export interface InspectorOptions {
  /** Variables for a stdio server the Inspector spawns, passed as `-e KEY=VALUE`. */
  serverEnv?: Record<string, string>;
  /** Default 90 s; the Inspector is killed after it. */
  timeoutMs?: number;
}

export interface InspectorRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON: the Inspector's CLI mode prints the method's result. */
  json: Record<string, unknown>;
}

/**
 * Runs the MCP Inspector's CLI mode (`--cli`) on the isolated Node 22 and
 * parses the JSON it prints; rejects with INSPECTOR_NO_JSON when it prints none.
 * `args` are the Inspector's own: a target (a command, or a URL with
 * `--transport http`) and `--method …`.
 * @example
 * const listed = await inspectorCli([process.execPath, BUNDLE, '--method', 'tools/list']);
 * const called = await inspectorCli([app.url, '--transport', 'http', '--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'text=hi']);
 */
export async function inspectorCli(args: string[], options: InspectorOptions = {}): Promise<InspectorRun> {
  const { node, inspector } = await prepareInspector();
  const envFlags = Object.entries(options.serverEnv ?? {}).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  const timeoutMs = options.timeoutMs ?? 90_000;
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      // Plain output; without FORCE_COLOR (vitest sets it), or Node warns on stderr that NO_COLOR is ignored.
      const { FORCE_COLOR: _forced, ...env } = process.env;
      const child = spawn(node, [inspector, '--cli', ...args, ...envFlags], {
        env: { ...env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-20_000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('close', (exitCode) => {
        clearTimeout(timer);
        resolve({ code: exitCode, stdout: out, stderr: err });
      });
    },
  );
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  if (typeof json !== 'object' || json === null) {
    throw new AppProcessError(
      'INSPECTOR_NO_JSON',
      `the Inspector printed no JSON object (exit ${code}) for: ${args.join(' ')}`,
      `${stdout}\n${stderr}`,
    );
  }
  return { code, stdout, stderr, json: json as Record<string, unknown> };
}
