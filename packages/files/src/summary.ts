import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Counts and sizes under one root. */
export interface RootSummary {
  /** The root's absolute path. */
  root: string;
  /** Its `file:///…` URI, the prefix of every resource under it. */
  uri: string;
  files: number;
  directories: number;
  /** Total size of the regular files, in bytes. */
  bytes: number;
  /** The largest regular file, relative to the root. */
  largest: { path: string; bytes: number } | null;
  /** Files larger than the read limit (they are refused when read). */
  overLimit: number;
  /** True when the walk stopped at `maxEntries` (the figures are then lower bounds). */
  truncated: boolean;
}

/** What `FilesService.summarize` answers. */
export interface FilesSummary {
  maxBytes: number;
  roots: RootSummary[];
  totals: { files: number; directories: number; bytes: number };
}

/**
 * Walks one root (symlinks are not followed; `node_modules` is not entered)
 * and counts what is there, stopping after `maxEntries` entries or when the
 * signal aborts.
 */
export async function summarizeRoot(
  root: string,
  maxBytes: number,
  maxEntries: number,
  signal?: AbortSignal,
): Promise<RootSummary> {
  const summary: RootSummary = {
    root,
    uri: `${pathToFileURL(root).href}/`,
    files: 0,
    directories: 0,
    bytes: 0,
    largest: null,
    overLimit: 0,
    truncated: false,
  };
  const queue = [root];
  let seen = 0;
  while (queue.length > 0) {
    signal?.throwIfAborted();
    const dir = queue.shift()!;
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (++seen > maxEntries) {
        summary.truncated = true;
        return summary;
      }
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        summary.directories += 1;
        if (entry.name !== 'node_modules') queue.push(path);
      } else if (entry.isFile()) {
        const size = (await lstat(path).catch(() => undefined))?.size ?? 0;
        summary.files += 1;
        summary.bytes += size;
        if (size > maxBytes) summary.overLimit += 1;
        if (!summary.largest || size > summary.largest.bytes)
          summary.largest = { path: relative(root, path).split(sep).join('/'), bytes: size };
      }
    }
  }
  return summary;
}
