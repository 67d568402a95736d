// `trellis dev <app>`: serves an app over HTTP and rebuilds and restarts it
// when a source file of the app or of a workspace package it bundles changes.
//
// Each good build is copied out of dist/ into a snapshot folder and served from
// there (dist/ alone is the whole app, by design), so a build that fails, even
// one that has already emptied dist/, never touches what is being served: the
// last good build keeps answering until a change builds again. A build that
// builds but does not start is stopped and the previous one started again.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { watch } from 'chokidar';
import { bundledProjectDirs, buildApp, CliError, usePnpm, WORKSPACE_ROOT } from './workspace.mjs';

/**
 * Paths (relative to a watched project) whose changes never alter the bundle,
 * including tsup's own temporary `*.bundled_*.mjs` copy of its config.
 */
const IGNORED =
  /(^|[\\/])(node_modules|dist|reports|coverage|\.nx|\.git|test)([\\/]|$)|\.test\.ts$|~$|\.swp$|\.tsbuildinfo$|\.bundled_[^\\/]*\.m?js$/;
const DEBOUNCE_MS = 150;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

function say(message) {
  process.stderr.write(`[trellis dev] ${message}\n`);
}

/** Resolves once GET /healthz answers 200, rejects when the process exits or the deadline passes. */
async function waitHealthy(base, child) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited = child.exitCode !== null || child.signalCode !== null;
  const onExit = () => (exited = true);
  child.once('exit', onExit);
  try {
    while (Date.now() < deadline) {
      if (exited) throw new Error(`it exited (${child.exitCode ?? child.signalCode}) before it served`);
      try {
        const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2_000) });
        await response.arrayBuffer();
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`it did not answer ${base}/healthz within ${START_TIMEOUT_MS / 1000} s`);
  } finally {
    child.off('exit', onExit);
  }
}

/** Fails with a usage error naming the port when something already listens there (its /healthz would fool the start check). */
function assertPortFree(host, port) {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error) =>
      reject(
        new CliError(
          'EXISTS',
          `${host}:${port} is not free (${error.code ?? error.message}); stop what listens there or pass --port <another>`,
        ),
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve(undefined)));
  });
}

function stopProcess(child, retiring) {
  if (child) retiring?.add(child);
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Runs the watch–build–serve loop until SIGINT or SIGTERM.
 * @param {{ app: import('./workspace.mjs').Project, port: number, host?: string, appArgs?: string[] }} options
 * @returns {Promise<void>} when stopped
 */
export async function dev({ app, port, host = '127.0.0.1', appArgs = [] }) {
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new CliError('USAGE', `--port must be a whole number from 1 to 65535 (got ${port})`);
  await assertPortFree(host, port);
  usePnpm();
  const dirs = bundledProjectDirs(app);
  const snapshots = mkdtempSync(join(tmpdir(), `trellis-dev-${app.short}-`));
  const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const url = `${base}/mcp`;
  let buildNumber = 0;
  /** @type {{ number: number, dir: string } | undefined} */
  let serving;
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let server;
  let stopping = false;
  /** Servers being stopped on purpose: their exit is no news. */
  const retiring = new WeakSet();

  const launch = async (snapshot) => {
    const child = spawn(
      process.execPath,
      [join(snapshot.dir, 'main.js'), '--transport', 'http', '--host', host, '--port', String(port), ...appArgs],
      {
        cwd: app.dir,
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    let served = false;
    child.on('exit', (code, sig) => {
      // A crash while starting is reported by swapTo; this is for one that had been serving.
      if (served && !retiring.has(child) && !stopping)
        say(`build ${snapshot.number} exited (${code ?? sig}); it restarts after the next change that builds`);
    });
    server = child;
    await waitHealthy(base, child);
    served = true;
  };

  const swapTo = async (snapshot) => {
    const previous = serving;
    await stopProcess(server, retiring);
    try {
      await launch(snapshot);
    } catch (error) {
      say(`build ${snapshot.number} does not start: ${error.message}`);
      await stopProcess(server, retiring);
      if (!previous) return;
      await launch(previous).then(
        () => say(`serving build ${previous.number} again on ${url}`),
        (again) => say(`build ${previous.number} does not start either: ${again.message}`),
      );
      return;
    }
    serving = snapshot;
    if (previous) rmSync(previous.dir, { recursive: true, force: true });
    // The app itself prints its URL and a client configuration when it starts (run() does).
    say(
      `serving build ${snapshot.number} of ${app.short} on ${url}; watching ${dirs.length} project folders, Ctrl-C stops`,
    );
  };

  const rebuild = () =>
    buildAndSwap().catch((error) =>
      say(`build ${buildNumber} could not be served: ${error instanceof Error ? error.message : String(error)}`),
    );

  const buildAndSwap = async () => {
    buildNumber += 1;
    const number = buildNumber;
    const started = Date.now();
    const { code, output } = await buildApp(app, { quiet: true });
    if (code !== 0) {
      process.stderr.write(`${output.trim()}\n`);
      say(
        serving
          ? `build ${number} failed; still serving build ${serving.number}`
          : `build ${number} failed; nothing to serve until a change builds`,
      );
      return;
    }
    if (stopping) return;
    const dir = join(snapshots, String(number));
    cpSync(join(app.dir, 'dist'), dir, { recursive: true });
    say(`build ${number} ready in ${Date.now() - started} ms`);
    await swapTo({ number, dir });
  };

  // One build at a time; changes during a build cause exactly one more.
  let running = Promise.resolve();
  let queued = false;
  let timer;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (queued) return;
      queued = true;
      running = running.then(() => {
        queued = false;
        return stopping ? undefined : rebuild();
      });
    }, DEBOUNCE_MS);
  };

  // chokidar rather than fs.watch: editors save by writing a new file and renaming it
  // over the old one, which Node 20's recursive fs.watch on Linux stops seeing.
  const watcher = watch(dirs, {
    ignoreInitial: true,
    ignored: (path) => dirs.some((dir) => path.startsWith(dir) && IGNORED.test(path.slice(dir.length))),
  });
  watcher.on('all', (_event, path) => {
    say(`changed: ${relative(WORKSPACE_ROOT, path).split(sep).join('/')}`);
    schedule();
  });
  watcher.on('error', (error) => say(`watching failed: ${error instanceof Error ? error.message : String(error)}`));
  await new Promise((resolve) => watcher.once('ready', resolve));

  await new Promise((resolve) => {
    // Ctrl-C reaches the app too (same process group): its exit is no news either.
    const stop = () => {
      stopping = true;
      resolve(undefined);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    running = running.then(rebuild);
  });
  clearTimeout(timer);
  await watcher.close();
  await running.catch(() => undefined);
  await stopProcess(server);
  rmSync(snapshots, { recursive: true, force: true });
  say('stopped');
}
