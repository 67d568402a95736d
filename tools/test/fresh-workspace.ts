import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/** The workspace these tests belong to. */
export const SOURCE_ROOT = join(import.meta.dirname, '..', '..');

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr, for failure messages. */
  output: string;
}

/** A command started in the background, whose output can be awaited. */
export interface BackgroundCommand {
  /** Everything written so far, stdout and stderr interleaved. */
  output(): string;
  /** Resolves with the match once `pattern` appears after character `from` of the output. */
  waitFor(pattern: RegExp, options?: { from?: number; timeoutMs?: number }): Promise<RegExpMatchArray>;
  /** Sends `signal` and resolves with the exit code (SIGKILL after 15 s). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

/**
 * A copy of this workspace as `git clone` would give it (tracked files and new
 * files not ignored: no node_modules, dist, .nx or .tools), set up by
 * `node tools/bootstrap.mjs`, the README's first step. The copy shares this
 * workspace's `.tools/` installs and pnpm's store, so setting it up takes seconds.
 */
export class FreshWorkspace {
  private constructor(readonly root: string) {}

  static create(): FreshWorkspace {
    const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: SOURCE_ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (listed.status !== 0) throw new Error(`git ls-files failed in ${SOURCE_ROOT}: ${listed.stderr}`);
    const root = mkdtempSync(join(tmpdir(), 'trellis-fresh-'));
    for (const file of listed.stdout.split('\0').filter(Boolean)) {
      const from = join(SOURCE_ROOT, file);
      if (!existsSync(from)) continue; // deleted in the working tree, not yet committed
      mkdirSync(dirname(join(root, file)), { recursive: true });
      copyFileSync(from, join(root, file));
    }
    // What the set-up installed into .tools/ (pnpm, when none was on the PATH; Node 22 and the
    // Inspector) is shared with this workspace rather than downloaded again.
    mkdirSync(join(root, '.tools'), { recursive: true });
    mkdirSync(join(SOURCE_ROOT, '.tools', 'conformance'), { recursive: true });
    for (const name of ['conformance', 'pnpm']) {
      if (existsSync(join(SOURCE_ROOT, '.tools', name)))
        symlinkSync(join(SOURCE_ROOT, '.tools', name), join(root, '.tools', name), 'dir');
    }
    const workspace = new FreshWorkspace(root);
    const setup = workspace.runSync(process.execPath, ['tools/bootstrap.mjs']);
    if (setup.code !== 0) throw new Error(`node tools/bootstrap.mjs failed in the copy:\n${setup.output}`);
    return workspace;
  }

  /**
   * The environment every command in the copy gets: no colours, and this
   * workspace's `.tools/pnpm` taken off the PATH (the bootstrap of an outer run
   * puts it there), so the copy finds pnpm only as a fresh clone would.
   */
  env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const outerPnpm = join(SOURCE_ROOT, '.tools', 'pnpm', 'node_modules', '.bin');
    const path = (process.env.PATH ?? '')
      .split(delimiter)
      .filter((dir) => dir !== outerPnpm)
      .join(delimiter);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: path, FORCE_COLOR: '0', NO_COLOR: '1', ...extra };
    // Nx, vitest and npm-script variables of the outer run must not steer what runs in the copy.
    for (const key of Object.keys(env)) if (/^(NX_TASK_|VITEST|npm_package_|npm_lifecycle_)/.test(key)) delete env[key];
    for (const [key, value] of Object.entries(extra)) if (value === undefined) delete env[key];
    return env;
  }

  /** Runs a command in the copy (default: its root) and waits for it. */
  runSync(
    command: string,
    args: string[],
    options: { cwd?: string; env?: Record<string, string | undefined> } = {},
  ): CommandResult {
    const result = spawnSync(command, args, {
      cwd: options.cwd ?? this.root,
      encoding: 'utf8',
      env: this.env(options.env),
      maxBuffer: 64 * 1024 * 1024,
    });
    const stdout = result.stdout ?? '';
    const stderr = `${result.stderr ?? ''}${result.error ? `\n${result.error.message}` : ''}`;
    return { code: result.status, stdout, stderr, output: `${stdout}\n${stderr}` };
  }

  /** `node tools/trellis.mjs …` in the copy. */
  trellis(args: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): CommandResult {
    return this.runSync(process.execPath, [join(this.root, 'tools', 'trellis.mjs'), ...args], options);
  }

  /** A workspace binary (eslint, tsc, vitest, tsup) run in a project folder of the copy. */
  bin(tool: string, args: string[], cwd: string): CommandResult {
    return this.runSync(join(this.root, 'node_modules', '.bin', tool), args, { cwd });
  }

  /** `node tools/trellis.mjs …` in the background. */
  trellisInBackground(args: string[], options: { env?: Record<string, string | undefined> } = {}): BackgroundCommand {
    const child = spawn(process.execPath, [join(this.root, 'tools', 'trellis.mjs'), ...args], {
      cwd: this.root,
      env: this.env(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const waiters = new Set<() => void>();
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      for (const check of waiters) check();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    let ended = false;
    void exited.then(() => {
      ended = true;
      for (const check of waiters) check();
    });
    return {
      output: () => output,
      exited,
      waitFor(pattern, { from = 0, timeoutMs = 60_000 } = {}) {
        return new Promise((resolve, reject) => {
          const check = () => {
            const match = output.slice(from).match(pattern);
            if (match) done(() => resolve(match));
            else if (ended)
              done(() => reject(new Error(`the command exited before printing ${pattern}:\n${output.slice(-4000)}`)));
          };
          const timer = setTimeout(
            () =>
              done(() =>
                reject(new Error(`${pattern} did not appear within ${timeoutMs} ms:\n${output.slice(-4000)}`)),
              ),
            timeoutMs,
          );
          const done = (settle: () => void) => {
            clearTimeout(timer);
            waiters.delete(check);
            settle();
          };
          waiters.add(check);
          check();
        });
      },
      async stop(signal = 'SIGINT') {
        if (!ended) child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      },
    };
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
