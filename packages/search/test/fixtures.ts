import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A throwaway corpus: each key a relative path, each value the file's text. */
export function makeCorpus(files: Record<string, string>): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'trellis-search-'));
  for (const [path, text] of Object.entries(files)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    utimesSync(file, new Date('2025-06-01T00:00:00Z'), new Date('2025-06-01T00:00:00Z'));
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const SAMPLE_CORPUS: Record<string, string> = {
  'guides/task-groups.md': [
    '---',
    'title: Task groups',
    'date: 2026-03-01',
    'tags: [concurrency, guide]',
    '---',
    'A task group runs children concurrently and cancels the siblings when one fails.',
    'Use a task group instead of gathering promises by hand.',
  ].join('\n'),
  'guides/semaphores.md': [
    '---',
    'date: 2025-01-15',
    'tags:',
    '  - concurrency',
    '---',
    '# Semaphores',
    '',
    'A semaphore limits how many tasks run at once.',
  ].join('\n'),
  'reference/config.md':
    '# Configuration\n\nEvery setting is an environment variable. Secrets such as API keys are redacted.\n',
  'notes.txt': 'Plain text notes about zebras and their stripes.',
  'ignored.json': '{"task": "group"}',
  '.hidden/secret.md': '# Hidden\n\ntask group',
  'node_modules/pkg/README.md': '# Dependency\n\ntask group',
};
