#!/usr/bin/env node
// nginx for tests, from Debian's `nginx` package, run as an ordinary process (never the system
// service) with its own prefix, configuration, pid file, logs and temp folders under one temp folder,
// listening on 127.0.0.1 only.
// As a module:
//   const lb = await startNginx({ http: trellisNginxConfig({ upstreams: ['127.0.0.1:4001', …] }) });
//   lb.url; lb.accessLog(); await lb.stop();
// As a command: node tools/nginx.mjs   (installs when missing, prints the executable's path)
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptInstall, findExecutable } from './apt.mjs';
import { freePort } from './postgres.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The shipped load-balancer configuration (http level), see deploy/nginx/README.md. */
export const DEPLOY_CONFIG = join(ROOT, 'deploy', 'nginx', 'trellis-mcp.conf');
const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

/** The nginx executable: NGINX_PATH when set, else Debian's; undefined when none is installed. */
export function findNginx() {
  return findExecutable('NGINX_PATH', CANDIDATES);
}

/** The nginx executable, installed from Debian's packages first when missing (as root, its service not started). */
export function ensureNginx() {
  return aptInstall(['nginx'], {
    found: findNginx,
    hint: 'run `apt-get install nginx` as root (Debian), or set NGINX_PATH',
  });
}

/**
 * The shipped configuration (deploy/nginx/trellis-mcp.conf) with `upstreams` (host:port, one per
 * instance) in place of its upstream's `server` lines, each keeping the shipped parameters, and
 * `listen` in place of its `listen` line. Throws when the file no longer has those lines, so a change
 * to it that the tests could not follow is loud.
 * @param {{ upstreams: string[], listen?: string, file?: string }} options
 */
export function trellisNginxConfig({ upstreams, listen = '127.0.0.1:8080', file = DEPLOY_CONFIG }) {
  if (!Array.isArray(upstreams) || upstreams.length === 0)
    throw new TypeError('trellisNginxConfig: give at least one upstream (host:port)');
  for (const upstream of upstreams)
    if (!/^[\w.-]+:\d+$/.test(upstream))
      throw new TypeError(`trellisNginxConfig: upstream ${JSON.stringify(upstream)} is not host:port`);
  const text = readFileSync(file, 'utf8');
  const block = /(upstream\s+trellis_mcp\s*\{)([\s\S]*?)(\n\})/.exec(text);
  if (!block) throw new Error(`${file} has no \`upstream trellis_mcp { … }\` block`);
  const serverLine = /^([ \t]*)server[ \t]+\S+([^;\n]*);[ \t]*\n?/gm;
  const lines = [...block[2].matchAll(serverLine)];
  if (lines.length === 0) throw new Error(`${file}: the upstream trellis_mcp block has no \`server\` line`);
  const [, indent, params] = lines[0];
  // The first shipped server line becomes the given ones; the other shipped lines go.
  let first = true;
  const body = block[2].replace(serverLine, () => {
    if (!first) return '';
    first = false;
    return upstreams.map((u) => `${indent}server ${u}${params};\n`).join('');
  });
  const upstreamBlock = `${block[1]}${body}${block[3]}`;
  const withUpstreams = text.slice(0, block.index) + upstreamBlock + text.slice(block.index + block[0].length);
  const listenLine = /^([ \t]*)listen[ \t]+[^;\n]+;/m;
  if (!listenLine.test(withUpstreams)) throw new Error(`${file} has no \`listen\` line`);
  return withUpstreams.replace(listenLine, (_, indent) => `${indent}listen ${listen};`);
}

function portOpen(port) {
  return new Promise((resolvePort) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('error', () => resolvePort(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts nginx in the foreground (`daemon off`, a child of this process) with `http` as the body of
 * its `http {}` block: everything else (pid, error log, access log with `$upstream_addr`, temp
 * folders) lives in a fresh temp folder. Waits until the port accepts connections. `stop()` ends it
 * (SIGTERM, then SIGKILL) and removes the folder; a process that exits first kills it too.
 * @param {{ http: string, port?: number, startTimeoutMs?: number }} options  `port` is the one `http`
 *   listens on (from `trellisNginxConfig({ listen })`); the caller picks it, e.g. with freePort().
 */
export async function startNginx({ http, port, startTimeoutMs = 15_000 }) {
  if (typeof http !== 'string' || http.trim() === '') throw new TypeError('startNginx: give the http block as text');
  if (!Number.isInteger(port) || port <= 0)
    throw new TypeError(`startNginx: port must be the port \`http\` listens on, got ${port}`);
  const nginx = ensureNginx();
  const dir = mkdtempSync(join(tmpdir(), 'trellis-nginx-'));
  // As root nginx hands its workers to `nobody`, who must reach the temp folders nginx makes (and chowns) here.
  chmodSync(dir, 0o755);
  const asRoot = process.getuid?.() === 0;
  const at = (name) => join(dir, name);
  const conf = [
    'daemon off;',
    ...(asRoot ? ['user nobody nogroup;'] : []),
    'worker_processes 1;',
    `pid ${at('nginx.pid')};`,
    `error_log ${at('error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    "  log_format upstreams '$request_method $uri $status $upstream_addr';",
    `  access_log ${at('access.log')} upstreams;`,
    `  client_body_temp_path ${at('client_body')};`,
    `  proxy_temp_path ${at('proxy')};`,
    `  fastcgi_temp_path ${at('fastcgi')};`,
    `  uwsgi_temp_path ${at('uwsgi')};`,
    `  scgi_temp_path ${at('scgi')};`,
    `  include ${at('trellis-mcp.conf')};`,
    '}',
    '',
  ].join('\n');
  writeFileSync(at('nginx.conf'), conf);
  writeFileSync(at('trellis-mcp.conf'), http);
  const read = (name) => (existsSync(at(name)) ? readFileSync(at(name), 'utf8') : '');
  const check = spawnSync(nginx, ['-t', '-q', '-p', dir, '-c', at('nginx.conf'), '-e', at('error.log')], {
    encoding: 'utf8',
  });
  if (check.status !== 0) {
    const why = `${check.stderr}${read('error.log')}`.trim();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx refused its configuration: ${why}`);
  }
  const child = spawn(nginx, ['-p', dir, '-c', at('nginx.conf'), '-e', at('error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((r) => child.once('exit', (code, signal) => r(code ?? signal)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const why = `${stderr}${read('error.log')}`.trim();
      await stop();
      throw new Error(`nginx exited at start (${child.exitCode ?? child.signalCode}): ${why}`);
    }
    if (await portOpen(port)) break;
    if (Date.now() > deadline) {
      const why = read('error.log');
      await stop();
      throw new Error(`nginx did not listen on 127.0.0.1:${port} within ${startTimeoutMs} ms: ${why}`);
    }
    await sleep(50);
  }
  return {
    port,
    /** The origin, e.g. `http://127.0.0.1:8080`. */
    url: `http://127.0.0.1:${port}`,
    dir,
    pid: child.pid,
    /** One line per request: `METHOD /uri STATUS upstream-address(es)`. */
    accessLog: () => read('access.log'),
    errorLog: () => read('error.log'),
    stop,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.stdout.write(`${ensureNginx()}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

export { freePort };
