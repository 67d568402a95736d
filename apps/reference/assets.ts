import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Copies what the bundle loads at run time next to it, so that `dist/` alone is
 * the whole app: `dist/corpus/` (the search corpus: the repository's README,
 * docs and every package's and app's README) and `dist/samples/` (the default
 * FILES_ROOT). Called by tsup once the bundle is written.
 */
export function copyAssets(appDir: string, outDir = join(appDir, 'dist')): { corpus: number } {
  const root = join(appDir, '..', '..');
  const corpus = join(outDir, 'corpus');
  let count = 0;
  const copy = (from: string, to: string) => {
    mkdirSync(dirname(to), { recursive: true });
    cpSync(from, to, { preserveTimestamps: true });
    count += 1;
  };
  if (existsSync(join(root, 'README.md'))) copy(join(root, 'README.md'), join(corpus, 'README.md'));
  const docs = join(root, 'docs');
  if (existsSync(docs)) {
    for (const entry of readdirSync(docs, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.md')) {
        const from = join(entry.parentPath, entry.name);
        copy(from, join(corpus, 'docs', from.slice(docs.length + 1)));
      }
    }
  }
  for (const group of ['packages', 'apps']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      const readme = join(dir, name, 'README.md');
      if (existsSync(readme)) copy(readme, join(corpus, group, name, 'README.md'));
    }
  }
  cpSync(join(appDir, 'samples'), join(outDir, 'samples'), { recursive: true, preserveTimestamps: true });
  return { corpus: count };
}
