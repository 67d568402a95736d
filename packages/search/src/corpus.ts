import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { settleAll } from '@trellis/concurrency';
import { SearchError } from './errors.js';

/** One document of the corpus, as read from disk. */
export interface SourceDocument {
  /** Path relative to its root, with `/` separators (prefixed by the root's name when there are several roots). */
  path: string;
  absolutePath: string;
  title: string;
  /** The text without its front matter. */
  body: string;
  /** From the front matter's `date`, else the file's modification time. */
  date: Date;
  tags: string[];
  bytes: number;
}

/** A file left out of the corpus, and why. */
export interface SkippedFile {
  path: string;
  reason: string;
}

export interface LoadOptions {
  /** Files with these extensions are indexed; default markdown and plain text. */
  extensions?: readonly string[];
  /** Larger files are skipped (and reported). */
  maxFileBytes: number;
  signal?: AbortSignal;
  /** Called after each file is read (or skipped), with how many of how many are done. */
  onFile?: (done: number, total: number) => void;
}

const DEFAULT_EXTENSIONS = ['.md', '.markdown', '.mdx', '.txt'];
/** Directories that hold dependencies or build output, never documentation. */
const SKIPPED_DIRS = new Set(['node_modules']);

/**
 * Reads every document under the roots (recursively; dot entries and
 * `node_modules` skipped, symlinks not followed). A missing root is an error
 * naming it; an unreadable or oversized file is skipped and reported.
 */
export async function loadCorpus(
  roots: readonly string[],
  options: LoadOptions,
): Promise<{ documents: SourceDocument[]; skipped: SkippedFile[] }> {
  const files = await listCorpus(roots, options);
  const skipped: SkippedFile[] = [];
  let done = 0;
  const { ok, failed } = await settleAll(
    files.map(({ path, file }) => async () => {
      try {
        const info = await stat(file);
        if (info.size > options.maxFileBytes) {
          skipped.push({ path, reason: `larger than ${options.maxFileBytes} bytes` });
          return undefined;
        }
        return parseDocument(path, file, await readFile(file, 'utf8'), info.mtime, info.size);
      } finally {
        done += 1;
        options.onFile?.(done, files.length);
      }
    }),
    { concurrency: 16, ...(options.signal && { signal: options.signal }) },
  );
  for (const { index, error } of failed)
    skipped.push({ path: files[index]!.file, reason: error instanceof Error ? error.message : String(error) });
  const documents = ok.map((r) => r.value).filter((d): d is SourceDocument => d !== undefined);
  documents.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { documents, skipped };
}

/**
 * What the corpus looks like on disk, cheaply: every file's path, size and modification
 * time. Two equal fingerprints mean nothing to re-index.
 */
export async function corpusFingerprint(
  roots: readonly string[],
  options: Pick<LoadOptions, 'extensions' | 'signal'> = {},
): Promise<string> {
  const files = await listCorpus(roots, options);
  const parts = await Promise.all(
    files.map(async ({ file }) => {
      const info = await stat(file).catch(() => undefined);
      return `${file}\0${info?.size ?? -1}\0${info?.mtimeMs ?? -1}`;
    }),
  );
  return parts.join('\n');
}

/**
 * The files under the roots, each once: when roots nest (or repeat), a file belongs to
 * the first root listed that holds it.
 */
async function listCorpus(
  roots: readonly string[],
  options: Pick<LoadOptions, 'extensions' | 'signal'>,
): Promise<{ path: string; file: string }[]> {
  if (roots.length === 0)
    throw new SearchError('NO_PATHS', 'SEARCH_PATHS is empty: give one or more directories of markdown files to index');
  const extensions = new Set((options.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase()));
  const labels = rootLabels(roots);
  const seen = new Set<string>();
  const files: { path: string; file: string }[] = [];
  for (const [index, given] of roots.entries()) {
    const root = resolve(given);
    const info = await stat(root).catch(() => undefined);
    if (!info?.isDirectory())
      throw new SearchError('PATH_MISSING', `SEARCH_PATHS: ${JSON.stringify(given)} is not a directory`, given);
    const label = labels[index]!;
    for (const file of await walk(root, extensions, options.signal)) {
      if (seen.has(file)) continue;
      seen.add(file);
      const rel = relative(root, file).split(sep).join('/');
      files.push({ path: label ? `${label}/${rel}` : rel, file });
    }
  }
  return files;
}

/** With one root, paths are relative to it; with several, each is prefixed by its root's (unique) name. */
function rootLabels(roots: readonly string[]): string[] {
  if (roots.length === 1) return [''];
  const used = new Map<string, number>();
  return roots.map((root) => {
    const name = basename(resolve(root)) || 'root';
    const count = (used.get(name) ?? 0) + 1;
    used.set(name, count);
    return count === 1 ? name : `${name}-${count}`;
  });
}

async function walk(root: string, extensions: Set<string>, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  const queue = [root];
  while (queue.length > 0) {
    signal?.throwIfAborted();
    const dir = queue.shift()!;
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue; // an unreadable directory is left out, not fatal
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || SKIPPED_DIRS.has(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) queue.push(path);
      else if (entry.isFile() && extensions.has(extname(entry.name).toLowerCase())) out.push(path);
    }
  }
  return out;
}

/**
 * Splits off a simple front matter block (`key: value` lines between `---`
 * fences) and finds the title: front matter `title`, else the first `#`
 * heading, else the file name.
 */
export function parseDocument(
  path: string,
  absolutePath: string,
  text: string,
  mtime: Date,
  bytes: number,
): SourceDocument {
  let body = text.replace(/^\uFEFF/, '');
  const meta: Record<string, string> = {};
  const fence = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(body);
  if (fence) {
    let listKey: string | undefined;
    for (const line of fence[1]!.split(/\r?\n/)) {
      const item = /^\s+-\s+(.*)$/.exec(line);
      if (item && listKey) {
        meta[listKey] = meta[listKey] ? `${meta[listKey]},${item[1]}` : item[1]!;
        continue;
      }
      const pair = /^([A-Za-z_][\w-]*):\s*(.*)$/.exec(line);
      if (pair) {
        listKey = pair[1]!.toLowerCase();
        meta[listKey] = pair[2]!.trim();
      }
    }
    body = body.slice(fence[0].length);
  }
  const heading = /^#\s+(.+?)\s*#*\s*$/m.exec(body);
  const title = unquote(meta.title ?? '') || heading?.[1] || basename(path, extname(path));
  const parsedDate = meta.date ? new Date(unquote(meta.date)) : undefined;
  const date = parsedDate && !Number.isNaN(parsedDate.getTime()) ? parsedDate : mtime;
  const tags = (meta.tags ?? '')
    .replace(/^\[|\]$/g, '')
    .split(',')
    .map((tag) => unquote(tag.trim()).toLowerCase())
    .filter(Boolean);
  return { path, absolutePath, title, body, date, tags, bytes };
}

function unquote(value: string): string {
  return value.replace(/^(['"])(.*)\1$/, '$2').trim();
}
