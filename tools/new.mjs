#!/usr/bin/env node
// Scaffolds a workspace project that lints, typechecks, tests and builds green
// the moment it exists:
//   pnpm new package <name>   a library @trellis/<name> in packages/<name>
//   pnpm new plugin <name>    a plugin package (definePlugin) in packages/<name>
//   pnpm new app <name>       a thin app in apps/<name> (bundle dist/main.js)
// Options: --dir <path> writes somewhere else (the generator's own test uses it).
import { mkdirSync, writeFileSync, existsSync, readFileSync, chmodSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { templates } from './templates/index.mjs';

const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function fail(message) {
  process.stderr.write(`trellis new: ${message}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
const kind = args[0];
const name = args[1];
const dirFlag = args.indexOf('--dir');
if (!kind || !['package', 'plugin', 'app'].includes(kind)) fail('usage: new <package|plugin|app> <name> [--dir <path>]');
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) fail(`name must be lower-case letters, digits and dashes, starting with a letter (got ${JSON.stringify(name)})`);

const defaultDir = join(workspaceRoot, kind === 'app' ? 'apps' : 'packages', name);
const target = dirFlag >= 0 ? resolve(args[dirFlag + 1] ?? fail('--dir needs a path')) : defaultDir;
if (existsSync(target)) fail(`${relative(workspaceRoot, target) || target} already exists`);

const rootRelative = relative(target, workspaceRoot).split('\\').join('/') || '.';
const version = JSON.parse(readFileSync(join(workspaceRoot, 'package.json'), 'utf8')).version;
const files = templates[kind]({ name, rootRelative, version });
for (const [file, content] of Object.entries(files)) {
  const path = join(target, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  if (file.endsWith('.sh')) chmodSync(path, 0o755);
}
process.stderr.write(`created ${kind} ${name} in ${relative(workspaceRoot, target) || target}\nrun \`pnpm install\` to link it into the workspace\n`);
