import type { Readable, Writable } from 'node:stream';
import { ConfigClashError, ConfigError, formatHelp, wantsHelp, type ConfigSchema } from '@trellis/config';
import {
  createServer,
  StartupError,
  type AnyPlugin,
  type CreateServerOptions,
  type TrellisServer,
} from '@trellis/server';
import { serveStdio, type StdioHandle } from '../stdio/serve.js';
import { guardStdout } from '../stdio/stdout-guard.js';
import { transportConfigSchema, type TransportConfig } from './config.js';
import type { HttpTransport } from '../http/index.js';
import { httpSchemaPart, startHttp } from './http.js';
import { telemetryHook } from './telemetry.js';
import { fleetPlugins } from './fleet.js';

/** What an app is: its name, version and plugins. Everything else comes from configuration. */
export interface App {
  name: string;
  version: string;
  /** One or a few sentences for `--help`. */
  description?: string;
  title?: string;
  instructions?: string;
  plugins: readonly AnyPlugin[];
  /** Configuration owned by the app itself, beside its plugins'. */
  configSchemas?: readonly { owner: string; schema: ConfigSchema }[];
  limits?: CreateServerOptions['limits'];
}

/** The process around `run()`; each defaults to the real one. For tests. */
export interface RunIO {
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** Where `.env` files are read from. */
  cwd?: string;
  envFiles?: readonly string[];
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** Ends the process. Default `process.exit`. */
  exit?: (code: number) => void;
  /** Where SIGTERM and SIGINT come from; false to not listen. Default `process`. */
  signals?: Pick<NodeJS.Process, 'on' | 'off'> | false;
}

/** What `run()` resolves to once the app serves (or has already exited). */
export interface RunningApp {
  /** The composed server; undefined when the app exited before starting (help, bad config). */
  server: TrellisServer | undefined;
  /** Graceful shutdown, as on SIGTERM; resolves with the exit code passed to `exit`. */
  shutdown(reason?: string): Promise<number>;
  /** Resolves with the exit code once `exit` has been called. */
  exited: Promise<number>;
}

/** Exit codes: 2 for a configuration the app cannot start with, 1 for a failed start. */
export const EXIT_BAD_CONFIG = 2;
export const EXIT_START_FAILED = 1;
/** How long in-flight work may finish when the client closes stdin (capped by SHUTDOWN_GRACE_MS). */
const STDIN_CLOSE_GRACE_MS = 2_000;
/** A shutdown that overruns its grace by this much is cut short. */
const SHUTDOWN_OVERRUN_MS = 10_000;
const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * The command line every app runs: reads flags, env vars and `.env` files
 * (`--help` lists them all), starts the plugins, serves stdio or HTTP, and
 * shuts down gracefully on SIGTERM/SIGINT or when the stdio client leaves.
 * Bad configuration prints only the error to stderr and exits 2 before any
 * transport opens; a plugin that fails to start exits 1.
 * @example
 * // apps/weather/src/main.ts
 * run({ name: 'weather', version: '1.0.0', plugins: [forecast()] });
 */
export async function run(app: App, io: RunIO = {}): Promise<RunningApp> {
  const argv = io.argv ?? process.argv.slice(2);
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const exitProcess = io.exit ?? ((code: number) => process.exit(code));
  let resolveExited!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExited = resolve));
  let exitCode: number | undefined;
  const exit = (code: number): number => {
    if (exitCode === undefined) {
      exitCode = code;
      resolveExited(code);
      exitProcess(code);
    }
    return exitCode;
  };
  const fail = (code: number, message: string): RunningApp => {
    stderr.write(`${message.trimEnd()}\n`);
    exit(code);
    return { server: undefined, shutdown: async () => code, exited };
  };

  let server: TrellisServer;
  const telemetry = telemetryHook(app);
  // Only when FLEET_DATABASE_URL is set (the fleet's code is not loaded otherwise); first, so that it closes last.
  const fleet = await fleetPlugins(app, io.env ?? process.env);
  try {
    server = createServer({
      name: app.name,
      version: app.version,
      plugins: [...fleet, ...telemetry.plugins, ...app.plugins],
      ...(app.title !== undefined && { title: app.title }),
      ...(app.instructions !== undefined && { instructions: app.instructions }),
      ...(app.limits && { limits: app.limits }),
      configSchemas: [
        { owner: 'transport', schema: transportConfigSchema },
        httpSchemaPart,
        ...(app.configSchemas ?? []),
      ],
      configSources: {
        argv,
        ...(io.env && { env: io.env }),
        ...(io.cwd !== undefined && { cwd: io.cwd }),
        ...(io.envFiles && { envFiles: io.envFiles }),
      },
    });
    if (wantsHelp(argv)) {
      stdout.write(
        formatHelp({
          name: app.name,
          ...(app.description !== undefined && { description: app.description }),
          schema: server.configSchema(),
        }),
      );
      exit(0);
      return { server: undefined, shutdown: async () => 0, exited };
    }
  } catch (error) {
    if (error instanceof ConfigClashError) return fail(EXIT_BAD_CONFIG, error.message);
    throw error;
  }

  // From here on stdout belongs to the protocol (stdio) or to no one (HTTP):
  // a plugin that prints while it sets up must not corrupt the stream.
  const guard = guardStdout({
    stdout,
    divert: stderr,
    onStray: () => {
      if (server.state === 'running')
        server.logger.warn('something wrote to stdout; diverted to stderr to keep stdout clean');
    },
  });
  try {
    await server.start();
  } catch (error) {
    guard.restore();
    if (error instanceof ConfigError || error instanceof ConfigClashError) return fail(EXIT_BAD_CONFIG, error.message);
    if (error instanceof StartupError) return fail(EXIT_START_FAILED, `${app.name} could not start: ${error.message}`);
    return fail(
      EXIT_START_FAILED,
      `${app.name} could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }

  const config = server.config as unknown as TransportConfig;
  const log = server.logger;
  let stdio: StdioHandle | undefined;
  let endStdioSession: (() => void) | undefined;
  let http: HttpTransport | undefined;
  let shuttingDown: Promise<number> | undefined;

  const shutdown = (reason = 'shutdown', graceMs = config.SHUTDOWN_GRACE_MS): Promise<number> => {
    shuttingDown ??= (async () => {
      log.info({ reason, graceMs, inflight: server.inflight }, 'shutting down');
      const overrun = setTimeout(() => {
        log.error({ graceMs }, 'shutdown overran its deadline; exiting now');
        exit(1);
      }, graceMs + SHUTDOWN_OVERRUN_MS);
      overrun.unref();
      try {
        if (http) {
          // Stops accepting, lets calls finish, then closes the core server.
          await http.close({ graceMs });
        } else {
          stdio?.drain();
          endStdioSession?.();
          await server.close({ graceMs });
          await stdio?.close();
        }
        await server.close({ graceMs });
        clearTimeout(overrun);
        log.flush?.();
        return exit(0);
      } catch (error) {
        log.error({ err: error }, 'shutdown failed');
        return exit(1);
      } finally {
        detachSignals();
      }
    })();
    return shuttingDown;
  };

  let signalled = false;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    // Only a second *signal* cuts a shutdown short. A client that closed stdin and
    // then sends SIGTERM (the SDK's stdio client does, after 2 s) is still waiting
    // for the same graceful shutdown, which must close plugins (an embedded database).
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      exit(SIGNAL_EXIT[signal]);
      return;
    }
    signalled = true;
    void shutdown(signal);
  };
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  const signals = io.signals === undefined ? process : io.signals;
  if (signals) {
    signals.on('SIGTERM', onTerm);
    signals.on('SIGINT', onInt);
  }
  function detachSignals() {
    if (!signals) return;
    signals.off('SIGTERM', onTerm);
    signals.off('SIGINT', onInt);
  }

  try {
    if (config.TRELLIS_TRANSPORT === 'http') {
      guard.restore();
      http = await startHttp(server, server.config, telemetry.http());
      stderr.write(describeHttp(app.name, http.url));
    } else {
      stdio = serveStdio(server, {
        ...(io.stdin && { input: io.stdin }),
        output: stdout,
        stdoutGuard: guard,
        maxMessageBytes: config.STDIO_MAX_MESSAGE_BYTES,
        onInputEnd: () => void shutdown('stdin closed', Math.min(config.SHUTDOWN_GRACE_MS, STDIN_CLOSE_GRACE_MS)),
      });
      endStdioSession = telemetry.sessionOpened();
      log.debug('serving on stdio');
    }
  } catch (error) {
    log.error({ err: error }, 'transport failed to start');
    stderr.write(`${app.name} could not start: ${error instanceof Error ? error.message : String(error)}\n`);
    await server.close({ graceMs: 0 }).catch(() => undefined);
    detachSignals();
    exit(EXIT_START_FAILED);
  }
  return { server, shutdown: (reason) => shutdown(reason), exited };
}

/** The URL, and a client configuration ready to paste. */
function describeHttp(name: string, url: string): string {
  const clientConfig = { mcpServers: { [name]: { type: 'http', url } } };
  return [`${name} is serving MCP on ${url}`, 'Client configuration:', JSON.stringify(clientConfig, null, 2), ''].join(
    '\n',
  );
}
