/** nginx for tests, run as an ordinary process (see nginx.mjs). */
export interface Nginx {
  readonly port: number;
  /** The origin, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  readonly dir: string;
  readonly pid: number;
  /** One line per request: `METHOD /uri STATUS upstream-address(es)`. */
  accessLog(): string;
  errorLog(): string;
  stop(): Promise<void>;
}

export const DEPLOY_CONFIG: string;
export function findNginx(): string | undefined;
export function ensureNginx(): string;
export function trellisNginxConfig(options: { upstreams: string[]; listen?: string; file?: string }): string;
export function startNginx(options: { http: string; port: number; startTimeoutMs?: number }): Promise<Nginx>;
export function freePort(): Promise<number>;
