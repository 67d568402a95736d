// The site's TypeDoc configuration. The API reference covers every export (each `@trellis/source` entry of the
// exports map) of every package that is published (not private); the guides and every other page of docs/
// become documents. A new package or page appears without an edit here.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const docsDir = dirname(fileURLToPath(import.meta.url));
const packagesDir = join(docsDir, '..', 'packages');

/** The guides in reading order; any other guide follows them. */
const GUIDE_ORDER = [
  'getting-started',
  'plugins',
  'primitives',
  'concurrency',
  'deployment',
  'security',
  'testing',
  'telemetry',
];
/** The core packages first in the navigation; the plugins after them. */
const PACKAGE_ORDER = ['server', 'transport', 'tools', 'resources', 'prompts', 'config', 'concurrency', 'testing'];

const rank = (order, name) => (order.includes(name) ? order.indexOf(name) : order.length);
const byRank = (order) => (a, b) => rank(order, a) - rank(order, b) || a.localeCompare(b);

/**
 * `{ file, types, specifier }` for every documented entry point: `@trellis/resources/files` → its
 * src/files/index.ts, and the declarations its build publishes (dist/files.d.ts).
 */
export function apiEntryPoints() {
  const entries = [];
  for (const name of readdirSync(packagesDir).sort(byRank(PACKAGE_ORDER))) {
    // Generator tests scaffold throwaway packages/zz-gen-* (git-ignored) while other tests run: never documented.
    if (name.startsWith('zz-gen-')) continue;
    const manifestPath = join(packagesDir, name, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (manifest.private) continue;
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      const source = typeof target === 'object' && target !== null ? target['@trellis/source'] : undefined;
      if (!source) continue;
      entries.push({
        file: join(packagesDir, name, source),
        types: join(packagesDir, name, target.types),
        specifier: subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`,
      });
    }
  }
  return entries;
}

/** The markdown pages besides the start page: the guides, then the other pages of docs/. */
export function documents() {
  const guides = readdirSync(join(docsDir, 'guides'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => name.slice(0, -3))
    .sort(byRank(GUIDE_ORDER))
    .map((name) => join(docsDir, 'guides', `${name}.md`));
  const pages = readdirSync(docsDir)
    .filter((name) => name.endsWith('.md') && name !== 'index.md')
    .sort()
    .map((name) => join(docsDir, name));
  return [...guides, ...pages];
}

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: 'Trellis',
  tsconfig: join(docsDir, 'tsconfig.typedoc.json'),
  entryPointStrategy: 'resolve',
  entryPoints: apiEntryPoints().map((entry) => entry.file),
  plugin: [join(docsDir, 'typedoc-plugin.mjs')],
  readme: join(docsDir, 'index.md'),
  projectDocuments: documents(),
  out: join(docsDir, 'dist'),
  excludePrivate: true,
  excludeInternal: true,
  excludeExternals: true,
  externalPattern: ['**/node_modules/**'],
  disableSources: true,
  githubPages: false,
  hideGenerator: true,
  includeVersion: false,
  searchInComments: true,
  sort: ['kind', 'alphabetical'],
  navigation: { includeCategories: false, includeGroups: false, includeFolders: false },
  highlightLanguages: [
    'bash',
    'sh',
    'console',
    'css',
    'html',
    'javascript',
    'json',
    'jsonc',
    'yaml',
    'tsx',
    'typescript',
    'dockerfile',
    'nginx',
    'python',
    'toml',
  ],
  // Links that do not resolve fail the build: in the guides (pages, anchors, {@link}) and in the JSDoc.
  validation: {
    notExported: false,
    invalidLink: true,
    invalidPath: true,
    rewrittenLink: true,
    notDocumented: false,
    unusedMergeModuleWith: true,
  },
  treatValidationWarningsAsErrors: true,
  // Comments our classes inherit from the MCP SDK's interfaces link to SDK symbols: point them at the SDK packages.
  externalSymbolLinkMappings: Object.fromEntries(
    ['server', 'client', 'core'].map((name) => [
      `@modelcontextprotocol/${name}`,
      { '*': `https://www.npmjs.com/package/@modelcontextprotocol/${name}` },
    ]),
  ),
  logLevel: 'Warn',
};
