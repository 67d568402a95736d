import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const BUNDLE = join(import.meta.dirname, '..', 'dist', 'main.js');

/** Only what the bundle needs from our environment: never a DATABASE_URL the developer happens to have. */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', NO_COLOR: '1' };
  return { ...env, ...extra };
}

export interface HttpApp {
  base: string;
  url: string;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the bundle with `--transport http --port 0` and reads the URL it announces on stderr. */
export async function startHttpApp(env: Record<string, string>, timeoutMs = 30_000): Promise<HttpApp> {
  const child: ChildProcess = spawn(process.execPath, [BUNDLE, '--transport', 'http', '--port', '0'], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const announced = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL announced within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-20_000);
      const match = /serving MCP on (http:\/\/\S+\/mcp)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    void exited.then((code) => reject(new Error(`the app exited with ${code}:\n${log}`)));
  });
  const url = await announced;
  return {
    url,
    base: url.replace(/\/mcp$/, ''),
    output: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
