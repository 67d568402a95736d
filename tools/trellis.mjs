#!/usr/bin/env node
// The Trellis command line. It needs only Node and what `npm start` (or
// `node tools/bootstrap.mjs`) set up once: no global pnpm, nothing else.
//   npm run trellis -- <verb> …     or     node tools/trellis.mjs <verb> …
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { addDefinition, DEFINITION_KINDS, PROJECT_KINDS, scaffoldProject } from './new.mjs';
import { builtBundle, CliError, findProject, installWorkspace, usePnpm, WORKSPACE_ROOT } from './workspace.mjs';

const USAGE = `usage: npm run trellis -- <verb> …   (or: node tools/trellis.mjs <verb> …)

  new package|plugin|app <name> [--plugins a,b] [--no-install] [--dir <path>]
        scaffold a project that is green at once; \`--plugins\` wires workspace plugins into a new app
  new tool|resource|prompt <name> --plugin <plugin>
        add a definition and its test to a plugin, called from its setup
  dev <app> [--port 3000] [--host 127.0.0.1] [-- <app flags>]
        serve over HTTP; rebuild and restart on change; a broken change keeps the last good build
  inspect <app> [--cli <inspector flags>] [-- <inspector flags>]
        the MCP Inspector (web UI, or CLI mode) against the app over stdio
  install <app> --client claude-desktop|cursor|vscode [--config <file>] [--name <entry>] [--env KEY=VALUE]… [--dry-run] [--no-build]
        build the app, then write the client's MCP entry for its bundle (stdio); backs the file up first
  setup
        link the workspace (pnpm install) after adding or wiring projects by hand
  check | affected [BASE] | bench | nx <args>
        the workspace's own commands (npm test's checks, affected projects, benchmarks, one Nx task)
        with the pinned pnpm found for them, so none needs pnpm on the PATH
`;

function say(message) {
  process.stderr.write(`[trellis] ${message}\n`);
}

/** Options of one verb; an unknown or malformed option is a usage error naming it. */
function options(args, spec) {
  try {
    return parseArgs({ args, options: spec, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError('USAGE', error.message);
  }
}

/** Splits `… -- rest` into what the verb reads and what it forwards. */
function splitForwarded(args) {
  const at = args.indexOf('--');
  return at < 0 ? [args, []] : [args.slice(0, at), args.slice(at + 1)];
}

async function newVerb(args) {
  const { values, positionals } = options(args, {
    plugins: { type: 'string' },
    plugin: { type: 'string' },
    dir: { type: 'string' },
    'no-install': { type: 'boolean' },
  });
  const [kind, name, extra] = positionals;
  if (extra !== undefined) throw new CliError('USAGE', `unexpected argument ${JSON.stringify(extra)}`);
  if (DEFINITION_KINDS.includes(kind)) {
    const plugin = values.plugin ?? pluginFromCwd();
    if (!plugin) throw new CliError('USAGE', `new ${kind} needs --plugin <plugin> (a package in packages/)`);
    const result = addDefinition({ kind, name, plugin });
    say(`added ${kind} ${name} to ${relative(WORKSPACE_ROOT, result.dir)}: ${result.files.join(', ')}`);
    return 0;
  }
  if (!PROJECT_KINDS.includes(kind))
    throw new CliError(
      'USAGE',
      `new what? expected ${[...PROJECT_KINDS, ...DEFINITION_KINDS].join('|')} (got ${JSON.stringify(kind ?? '')})`,
    );
  const plugins = (values.plugins ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const result = scaffoldProject({ kind, name, dir: values.dir, plugins, install: !values['no-install'] });
  say(`created ${kind} ${name} in ${relative(WORKSPACE_ROOT, result.dir) || result.dir}`);
  for (const note of result.notes) process.stderr.write(`${note}\n`);
  return 0;
}

/** The plugin folder the command was started in (npm and pnpm set INIT_CWD to it), if any. */
function pluginFromCwd() {
  const from = relative(join(WORKSPACE_ROOT, 'packages'), process.env.INIT_CWD ?? process.cwd());
  if (from === '' || from.startsWith('..')) return undefined;
  return from.split(/[\\/]/)[0];
}

/**
 * Loads a module of this command line that needs the workspace's dependencies
 * (chokidar, jsonc-parser), with a clear word when the set-up has not run yet.
 */
async function load(module) {
  if (!existsSync(join(WORKSPACE_ROOT, 'tools', 'node_modules'))) {
    throw new CliError(
      'FAILED',
      'the workspace is not set up yet: run `npm start` (or `node tools/bootstrap.mjs`) once',
    );
  }
  return import(module);
}

async function devVerb(args) {
  const { dev } = await load('./dev.mjs');
  const [own, appArgs] = splitForwarded(args);
  const { values, positionals } = options(own, {
    port: { type: 'string', default: '3000' },
    host: { type: 'string', default: '127.0.0.1' },
  });
  const app = findProject('app', positionals[0]);
  await dev({ app, port: Number(values.port), host: values.host, appArgs });
  return 0;
}

async function inspectVerb(args) {
  const [own, forwarded] = splitForwarded(args);
  const cliAt = own.indexOf('--cli');
  const mine = cliAt < 0 ? own : own.slice(0, cliAt);
  const inspectorArgs = cliAt < 0 ? forwarded : [...own.slice(cliAt + 1), ...forwarded];
  const { positionals } = options(mine, {});
  const app = findProject('app', positionals[0]);
  const bundle = await builtBundle(app);
  const { ensureInspector } = await load('./conformance.mjs');
  // Installed on first use (the Inspector needs Node 22; the workspace runs on 20), then reused.
  const { node, inspector } = await ensureInspector({
    root: WORKSPACE_ROOT,
    onInstall: (spec) => say(`installing ${spec} into .tools/conformance (first use)`),
  });
  const mode = cliAt < 0 ? '--web' : '--cli';
  say(
    `MCP Inspector (${mode.slice(2)}) on ${app.short} over stdio: node ${relative(WORKSPACE_ROOT, bundle)}${mode === '--web' ? '; Ctrl-C stops' : ''}`,
  );
  const child = spawn(node, [inspector, mode, process.execPath, bundle, ...inspectorArgs], { stdio: 'inherit' });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, sig) => resolve(code ?? (sig === 'SIGINT' || sig === 'SIGTERM' ? 0 : 1)));
  });
}

async function installVerb(args) {
  const { clientConfigPath, CLIENTS, stdioEntry, writeClientEntry } = await load('./client-config.mjs');
  const { values, positionals } = options(args, {
    client: { type: 'string' },
    config: { type: 'string' },
    name: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
    'dry-run': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
  });
  const client = values.client;
  if (!client || !Object.hasOwn(CLIENTS, client))
    throw new CliError(
      'USAGE',
      `--client must be one of ${Object.keys(CLIENTS).join(', ')} (got ${JSON.stringify(client ?? '')})`,
    );
  const app = findProject('app', positionals[0]);
  const env = {};
  for (const pair of values.env) {
    const at = pair.indexOf('=');
    if (at < 1) throw new CliError('USAGE', `--env wants KEY=VALUE (got ${JSON.stringify(pair.split('=')[0])}…)`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const dryRun = values['dry-run'];
  const bundle = dryRun || values['no-build'] ? join(app.dir, 'dist', 'main.js') : await builtBundle(app);
  if (values['no-build'] && !dryRun && !existsSync(bundle))
    throw new CliError('NOT_FOUND', `${relative(WORKSPACE_ROOT, bundle)} is not built; drop --no-build`);
  const name = values.name ?? Object.keys(app.manifest.bin ?? {})[0] ?? `trellis-${app.short}`;
  const file = values.config ?? clientConfigPath(/** @type {keyof typeof CLIENTS} */ (client));
  const entry = stdioEntry(/** @type {keyof typeof CLIENTS} */ (client), { bundle, env });
  const result = writeClientEntry({ client: /** @type {keyof typeof CLIENTS} */ (client), file, name, entry, dryRun });
  const label = CLIENTS[/** @type {keyof typeof CLIENTS} */ (client)].label;
  if (dryRun) {
    // The values of --env may be secrets: the preview names them only.
    const shown = {
      ...entry,
      ...('env' in entry && { env: Object.fromEntries(Object.keys(entry.env).map((key) => [key, '<set>'])) }),
    };
    say(
      `dry run: would ${result.action === 'unchanged' ? 'leave' : result.action === 'added' ? 'add' : 'replace'} "${name}" in ${file} (${label}):`,
    );
    process.stdout.write(`${JSON.stringify({ [name]: shown }, null, 2)}\n`);
    if (!existsSync(bundle))
      say(`note: ${relative(WORKSPACE_ROOT, bundle)} is not built yet; install without --dry-run builds it`);
    return 0;
  }
  if (result.action === 'unchanged') say(`"${name}" in ${file} is already up to date`);
  else
    say(
      `${result.action} "${name}" in ${file}${result.backup ? ` (backup: ${result.backup})` : ''}; restart ${label} to load it`,
    );
  return 0;
}

/** Runs one of the workspace's own commands with the pinned pnpm and the workspace's binaries on the PATH. */
function passThrough(command, args) {
  usePnpm();
  process.env.PATH = `${join(WORKSPACE_ROOT, 'node_modules', '.bin')}${delimiter}${process.env.PATH}`;
  process.env.NX_NO_CLOUD = 'true';
  process.env.NX_TUI ??= 'false';
  const result = spawnSync(command, args, { cwd: WORKSPACE_ROOT, stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

const tool = (name) => join(WORKSPACE_ROOT, 'tools', name);

const VERBS = {
  check: async (args) => passThrough(process.execPath, [tool('test-summary.mjs'), ...args]),
  affected: async (args) => passThrough(process.execPath, [tool('affected.mjs'), ...args]),
  bench: async (args) => passThrough(process.execPath, [tool('bootstrap.mjs'), 'bench', ...args]),
  nx: async (args) => passThrough(join(WORKSPACE_ROOT, 'node_modules', '.bin', 'nx'), args),
  new: newVerb,
  dev: devVerb,
  inspect: inspectVerb,
  install: installVerb,
  setup: async () => {
    installWorkspace();
    return 0;
  },
};

async function main(argv) {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(USAGE);
    return verb ? 0 : 2;
  }
  const run = VERBS[verb];
  if (!run)
    throw new CliError(
      'USAGE',
      `unknown verb ${JSON.stringify(verb)}; expected one of ${Object.keys(VERBS).join(', ')} (see --help)`,
    );
  return run(rest);
}

process.env.NX_DAEMON ??= 'false';
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof CliError) {
      say(
        error.code === 'USAGE' && !error.message.includes('--help') ? `${error.message} (see --help)` : error.message,
      );
      process.exit(error.exitCode);
    }
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
