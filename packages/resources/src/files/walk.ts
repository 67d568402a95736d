import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ResourceEntry } from '../define.js';
import { fileType } from './mime.js';
import { DEFAULT_PATH_LIMITS, isInside, type Root } from './sandbox.js';

/** Directories never walked into by the listing: dependency trees are noise to a model. */
const SKIPPED = new Set(['node_modules']);

/**
 * Up to `limit` regular files under the roots, breadth first, in name order.
 * Dot entries and `node_modules` are skipped, and symlinks are not followed
 * (no cycles, no escapes); they can still be read by URI.
 */
export async function listFiles(roots: readonly Root[], limit: number, signal?: AbortSignal): Promise<ResourceEntry[]> {
  const entries: ResourceEntry[] = [];
  const seen = new Set<string>();
  for (const root of roots) {
    const queue = [root.real];
    while (queue.length > 0 && entries.length < limit) {
      signal?.throwIfAborted();
      const dir = queue.shift()!;
      for (const dirent of await readSorted(dir)) {
        if (dirent.name.startsWith('.') || SKIPPED.has(dirent.name)) continue;
        const path = join(dir, dirent.name);
        if (dirent.isDirectory()) queue.push(path);
        else if (dirent.isFile() && !seen.has(path)) {
          seen.add(path);
          const { mime } = fileType(path);
          entries.push({
            uri: pathToFileURL(path).href,
            name: relative(root.real, path).split(sep).join('/'),
            ...(mime !== undefined && { mimeType: mime }),
          });
          if (entries.length >= limit) break;
        }
      }
    }
  }
  return entries;
}

/**
 * Completes the `path` variable of `file:///{+path}`: `value` is an absolute
 * path without its leading `/`. Above the roots the roots themselves are
 * offered; inside a root, the entries of the typed directory whose names
 * start with the typed prefix (directories end with `/`). Dot entries appear
 * only once a `.` is typed; symlinks that leave the roots never appear.
 */
export async function completePath(
  roots: readonly Root[],
  value: string,
  signal?: AbortSignal,
  maxPathBytes = DEFAULT_PATH_LIMITS.maxPathBytes,
): Promise<string[]> {
  // A value longer than any path that can be read completes to nothing, at no cost.
  if (value.length > maxPathBytes || /[\u0000-\u001f\\]/.test(value)) return [];
  const typed = `/${value}`;
  const cut = typed.lastIndexOf('/');
  const dirText = typed.slice(0, cut + 1);
  const prefix = typed.slice(cut + 1);
  if (dirText.split('/').some((s) => s === '.' || s === '..')) return [];

  const dir = sep === '/' ? dirText : dirText.slice(1).split('/').join(sep);
  if (!roots.some((r) => isInside(r.given, dir) || isInside(r.real, dir))) {
    const offered = roots.map((r) => `${r.real.split(sep).join('/').replace(/^\//, '')}/`);
    return [...new Set(offered)].filter((root) => root.startsWith(value));
  }
  let realDir: string;
  try {
    realDir = await realpath(dir);
  } catch {
    return [];
  }
  if (!roots.some((r) => isInside(r.real, realDir))) return [];
  signal?.throwIfAborted();
  const values: string[] = [];
  for (const dirent of await readSorted(realDir)) {
    if (!dirent.name.startsWith(prefix) || (dirent.name.startsWith('.') && !prefix.startsWith('.'))) continue;
    const kind = await kindOf(roots, join(realDir, dirent.name), dirent);
    if (kind) values.push(`${dirText}${dirent.name}${kind === 'dir' ? '/' : ''}`.slice(1));
  }
  return values;
}

async function kindOf(roots: readonly Root[], path: string, dirent: Dirent): Promise<'dir' | 'file' | undefined> {
  if (dirent.isDirectory()) return 'dir';
  if (dirent.isFile()) return 'file';
  if (!dirent.isSymbolicLink()) return undefined;
  try {
    const target = await realpath(path);
    if (!roots.some((r) => isInside(r.real, target))) return undefined;
    const info = await stat(target);
    return info.isDirectory() ? 'dir' : info.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

async function readSorted(dir: string): Promise<Dirent[]> {
  try {
    const dirents = await readdir(dir, { withFileTypes: true });
    return dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return []; // unreadable directories are left out, not fatal
  }
}
