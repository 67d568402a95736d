import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/** A helper's failure that is not a bad option: the bundle exited, or never announced its URL. */
export class AppProcessError extends Error {
  override readonly name = 'AppProcessError';
  constructor(
    readonly code: 'BUNDLE_EXITED' | 'BUNDLE_NO_URL' | 'INSPECTOR_NO_JSON',
    message: string,
    /** What the process wrote, for the failure message of the test. */
    readonly output = '',
  ) {
    super(output ? `${message}\n--- output ---\n${output}` : message);
  }
}

/** The last characters of a process's output kept for failure messages. */
const OUTPUT_LIMIT = 20_000;

/**
 * The environment a bundle under test runs with: PATH and HOME, quiet
 * uncoloured logs, then `extra`. Nothing else from the developer's shell
 * reaches the app (a stray DATABASE_URL or PORT would change what it serves).
 * @example
 * spawn(process.execPath, [bundle], { env: bundleEnv({ DATABASE_URL: db.url }) });
 */
export function bundleEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    LOG_LEVEL: 'warn',
    NO_COLOR: '1',
    ...extra,
  };
}

/** A TCP port that was free on 127.0.0.1 a moment ago (for "nothing listens here" cases). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface StartHttpBundleOptions {
  /** Absolute path of the app's `dist/main.js`. */
  bundle: string;
  /** Added to {@link bundleEnv}. */
  env?: Record<string, string>;
  /** 0 (the default) lets the system pick; the helper reads the real URL from stderr. */
  port?: number;
  cwd?: string;
  /** More command-line flags, after `--transport http --host 127.0.0.1 --port N`. */
  args?: string[];
  /** How long to wait for "serving MCP on <url>" (default 30 s). */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL (default 15 s). */
  killAfterMs?: number;
}

export interface HttpBundle {
  /** The MCP endpoint, e.g. `http://127.0.0.1:40123/mcp`. */
  url: string;
  /** The origin, for `/healthz` and `/readyz`. */
  base: string;
  /** Everything the process wrote so far (the last 20 000 characters). */
  output(): string;
  /** SIGTERM, SIGKILL after the deadline; resolves to the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
  /** The process id. */
  readonly pid: number;
  /** Sends `signal` (default SIGKILL: a crash, no shutdown) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs an app bundle over HTTP on 127.0.0.1 with this Node and waits for the
 * URL the shared command line announces on stderr (`… is serving MCP on <url>`).
 * @example
 * const app = await startHttpBundle({ bundle: BUNDLE, env: { DATABASE_URL: db.url } });
 * try { await fetch(`${app.base}/readyz`); } finally { await app.stop(); }
 */
export async function startHttpBundle(options: StartHttpBundleOptions): Promise<HttpBundle> {
  if (typeof options?.bundle !== 'string' || options.bundle === '')
    throw new TypeError(
      `startHttpBundle: option "bundle" must be the path of dist/main.js, got ${String(options?.bundle)}`,
    );
  const { bundle, env = {}, port = 0, cwd, args = [], startTimeoutMs = 30_000, killAfterMs = 15_000 } = options;
  const child = spawn(
    process.execPath,
    [bundle, '--transport', 'http', '--host', '127.0.0.1', '--port', String(port), ...args],
    {
      env: bundleEnv(env),
      ...(cwd && { cwd }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop().then(() =>
        reject(new AppProcessError('BUNDLE_NO_URL', `${bundle} announced no URL within ${startTimeoutMs} ms`, log)),
      );
    }, startTimeoutMs);
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
      const match = /serving MCP on (http:\/\/\S+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new AppProcessError('BUNDLE_EXITED', `${bundle} exited with ${code} before serving`, log));
    });
  });
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return { url, base: new URL(url).origin, output: () => log, stop, pid: child.pid!, kill };
}

/** What a finished run of a bundle printed. */
export interface BundleRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a bundle to completion with stdin closed (for `--help` and configuration
 * errors). The environment is PATH plus `env`, nothing else.
 * @example
 * const { status, stderr } = runBundle(BUNDLE, [], { HTTP_ALLOW_HOSTS: 'http://bad/' });
 */
export function runBundle(
  bundle: string,
  args: string[] = [],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): BundleRun {
  const result = spawnSync(process.execPath, [bundle, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
