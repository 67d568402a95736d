// `trellis new`: scaffolds a workspace project that lints, typechecks, tests
// and builds green the moment it exists, or adds one tool, resource or prompt
// (a file and its test) to an existing plugin and wires it into the plugin's setup.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { camel, definitionTemplates, pluginWiring, templates } from './templates/index.mjs';
import { CliError, findProject, installWorkspace, listProjects, WORKSPACE_ROOT } from './workspace.mjs';

const prettierBin = createRequire(import.meta.url).resolve('prettier/bin/prettier.cjs');

/**
 * Formats the code files just written with the workspace's Prettier settings, so
 * that what the scaffolder makes passes lint (which checks formatting) as it is.
 * @param {string[]} paths
 */
function formatWritten(paths) {
  const code = paths.filter((path) => /\.(?:[cm]?[jt]s|json)$/.test(path));
  if (code.length === 0) return;
  const result = spawnSync(process.execPath, [prettierBin, '--write', '--log-level=warn', ...code], {
    encoding: 'utf8',
  });
  if (result.status !== 0)
    throw new CliError('FAILED', `prettier could not format ${code.join(', ')}: ${result.stderr.trim()}`);
}

/** What `new` makes: whole projects, and definitions added to a plugin (one per template). */
export const PROJECT_KINDS = Object.keys(templates);
export const DEFINITION_KINDS = Object.keys(definitionTemplates);

const NAME = /^[a-z][a-z0-9-]*$/;

function checkName(name, what = 'name') {
  if (!name || !NAME.test(name)) {
    throw new CliError(
      'USAGE',
      `${what} must be lower-case letters, digits and dashes, starting with a letter (got ${JSON.stringify(name ?? '')})`,
    );
  }
}

/**
 * The function a plugin package exports to make its plugin: `name` or
 * `package:exportName` (for a package whose function is not its camel-cased
 * folder name, e.g. `http:httpClient`). Checked against the package's src/index.ts.
 * @returns {{ packageName: string, exportName: string, dir: string }}
 */
export function resolvePluginExport(spec, root = WORKSPACE_ROOT) {
  const [wanted, explicit] = spec.split(':');
  const project = findProject('package', wanted, root);
  const exportName = explicit ?? camel(project.short);
  const index = join(project.dir, 'src', 'index.ts');
  const source = existsSync(index) ? readFileSync(index, 'utf8') : '';
  const exported = new Set([
    ...[...source.matchAll(/export\s+(?:async\s+)?(?:function|const)\s+([A-Za-z_$][\w$]*)/g)].map((m) => m[1]),
    ...[...source.matchAll(/export\s*\{([^}]*)\}/g)].flatMap((m) =>
      m[1].split(',').map((part) =>
        part
          .trim()
          .split(/\s+as\s+/)
          .pop()
          ?.replace(/^type\s+/, ''),
      ),
    ),
  ]);
  if (!exported.has(exportName)) {
    const functions = [...exported].filter((n) => n && /^[a-z]/.test(n)).join(', ');
    throw new CliError(
      'NOT_FOUND',
      `${project.name} exports no ${exportName}(); name the plugin function as ${project.short}:<function> (it exports: ${functions || 'nothing'})`,
    );
  }
  return { packageName: project.name, exportName, dir: project.dir };
}

/**
 * Scaffolds a package, plugin or app, then links it with `pnpm install`
 * (unless `install` is false or the folder lies outside the workspace).
 * @param {{ kind: 'package' | 'plugin' | 'app', name: string, dir?: string, plugins?: string[], install?: boolean, root?: string }} options
 * @returns {{ dir: string, files: string[], notes: string[] }}
 */
export function scaffoldProject({ kind, name, dir, plugins = [], install = true, root = WORKSPACE_ROOT }) {
  if (!PROJECT_KINDS.includes(kind))
    throw new CliError('USAGE', `expected new ${PROJECT_KINDS.join('|')} (got ${JSON.stringify(kind)})`);
  checkName(name);
  if (plugins.length > 0 && kind !== 'app') throw new CliError('USAGE', '--plugins is for `new app`');
  const target = dir ? resolve(dir) : join(root, kind === 'app' ? 'apps' : 'packages', name);
  if (existsSync(target)) throw new CliError('EXISTS', `${relative(root, target) || target} already exists`);
  if (kind !== 'app' && listProjects(root).some((p) => p.name === `@trellis/${name}`))
    throw new CliError('EXISTS', `a package named @trellis/${name} already exists`);
  const wired = plugins.map((spec) => resolvePluginExport(spec, root));

  const rootRelative = relative(target, root).split('\\').join('/') || '.';
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  const files = templates[kind]({ name, rootRelative, version, plugins: wired });
  for (const [file, content] of Object.entries(files)) {
    const path = join(target, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    if (file.endsWith('.sh')) chmodSync(path, 0o755);
  }
  formatWritten(Object.keys(files).map((file) => join(target, file)));
  const inWorkspace = !relative(root, target).startsWith('..');
  const notes = [];
  if (install && inWorkspace) installWorkspace(root);
  else notes.push('run `npm run trellis -- setup` (or `pnpm install`) to link it into the workspace');
  if (kind === 'plugin') notes.push(pluginWiring(name, camel(name)));
  if (kind === 'app') notes.push(`build and serve it while you edit: npm run trellis -- dev ${name}`);
  return { dir: target, files: Object.keys(files), notes };
}

/**
 * Adds a tool, resource or prompt to an existing plugin: writes
 * `src/<tools|resources|prompts>/<name>.ts` and its test, then imports it in
 * the plugin's src/index.ts and calls it at the top of `setup`, after the
 * definitions added before it. When setup cannot be found, the files stay and
 * the error says what to add by hand.
 * @param {{ kind: 'tool' | 'resource' | 'prompt', name: string, plugin: string, root?: string }} options
 * @returns {{ dir: string, files: string[], notes: string[] }}
 */
export function addDefinition({ kind, name, plugin, root = WORKSPACE_ROOT }) {
  if (!DEFINITION_KINDS.includes(kind))
    throw new CliError('USAGE', `expected new ${DEFINITION_KINDS.join('|')} (got ${JSON.stringify(kind)})`);
  checkName(name);
  const project = findProject('package', plugin, root);
  const indexPath = join(project.dir, 'src', 'index.ts');
  const index = existsSync(indexPath) ? readFileSync(indexPath, 'utf8') : '';
  const setup = /^([ \t]*)(?:async\s+)?setup\s*\(\s*([A-Za-z_$][\w$]*)[^)]*\)\s*(?::[^{]+)?\{[^\n]*\n/m.exec(index);
  // The test starts the plugin made by the exported function whose setup gets the call.
  const before = setup ? index.slice(0, setup.index) : index;
  const pluginFn =
    [...before.matchAll(/export\s+(?:async\s+)?function\s+([A-Za-z_$][\w$]*)/g)].pop()?.[1] ?? camel(project.short);
  if (!/definePlugin\s*\(/.test(index))
    throw new CliError('NOT_FOUND', `${project.name} is not a plugin: its src/index.ts calls no definePlugin()`);

  const { folder, fn, files } = definitionTemplates[kind]({ name, plugin: project.short, pluginFn });
  for (const file of Object.keys(files)) {
    if (existsSync(join(project.dir, file)))
      throw new CliError('EXISTS', `${relative(root, join(project.dir, file))} already exists`);
  }
  for (const [file, content] of Object.entries(files)) {
    const path = join(project.dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  const importLine = `import { ${fn} } from './${folder}/${name}.js';`;
  if (!setup) {
    throw new CliError(
      'FAILED',
      `wrote ${Object.keys(files).join(' and ')}, but found no \`setup(scope) {\` in ${relative(root, indexPath)}: add \`${importLine}\` and call \`${fn}(scope)\` in the plugin's setup`,
    );
  }
  // The call opens setup's body, after the calls added before it (definitions register in the
  // order they were added); the import goes after the last top-level import.
  let at = setup.index + setup[0].length;
  const added = new RegExp(`^[ \\t]*add[A-Z]\\w*(?:Tool|Resource|Prompt)\\(${setup[2]}\\);[^\\n]*\\n`, 'my');
  added.lastIndex = at;
  while (added.exec(index)) at = added.lastIndex;
  const lines = `${index.slice(0, at)}${setup[1]}  ${fn}(${setup[2]});\n${index.slice(at)}`.split('\n');
  let lastImport = -1;
  for (let i = 0; i < lines.length; i += 1) if (/^import\s/.test(lines[i])) lastImport = i;
  // A multi-line import ends at its `from '…';` line.
  while (
    lastImport >= 0 &&
    lastImport + 1 < lines.length &&
    !/(from\s+|^import\s+)['"][^'"]+['"];?\s*$/.test(lines[lastImport])
  )
    lastImport += 1;
  lines.splice(lastImport + 1, 0, importLine);
  const updated = lines.join('\n');
  writeFileSync(indexPath, updated);
  formatWritten([...Object.keys(files).map((file) => join(project.dir, file)), indexPath]);
  return { dir: project.dir, files: [...Object.keys(files), 'src/index.ts'], notes: [] };
}

// Run as a script (the old `node tools/new.mjs …`), this module says where the command went
// instead of doing nothing.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stderr.write(
    'tools/new.mjs is the scaffolder module; run `npm run trellis -- new …` (or `node tools/trellis.mjs new …`)\n',
  );
  process.exit(2);
}
