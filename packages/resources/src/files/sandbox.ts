import { constants, realpathSync, statSync } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FileAccessError } from '../file-error.js';

/** A configured root: as given (made absolute) and with symlinks resolved. */
export interface Root {
  given: string;
  real: string;
}

/** Resolves the configured roots once; each must be an existing directory. */
export function resolveRoots(roots: readonly string[]): Root[] {
  if (!Array.isArray(roots) || roots.length === 0) {
    throw new TypeError('fileResources: roots must be a non-empty array of directory paths');
  }
  return roots.map((root) => {
    if (typeof root !== 'string' || root === '')
      throw new TypeError(`fileResources: roots must be directory paths, got ${JSON.stringify(root)}`);
    const given = resolve(root);
    let real: string;
    try {
      real = realpathSync(given);
    } catch {
      throw new TypeError(`fileResources: root ${JSON.stringify(root)} does not exist`);
    }
    if (!statSync(real).isDirectory())
      throw new TypeError(`fileResources: root ${JSON.stringify(root)} is not a directory`);
    return { given, real };
  });
}

/** Bounds on the paths a URI may name, checked before the file system is touched. */
export interface PathLimits {
  /** Longest decoded path, in UTF-8 bytes (Linux PATH_MAX is 4096). */
  maxPathBytes: number;
  /** Most path segments (directories plus the file name). */
  maxPathDepth: number;
}

export const DEFAULT_PATH_LIMITS: PathLimits = { maxPathBytes: 4096, maxPathDepth: 64 };
/** Longest file or directory name on common file systems (NAME_MAX). */
const MAX_SEGMENT_BYTES = 255;
/** How much of an over-long URI a refusal repeats. */
const SHOWN_URI_CHARS = 200;

/** The URI as a refusal may repeat it: a long one is cut, so a huge request never comes back whole. */
export function shownUri(uri: string): string {
  return uri.length <= SHOWN_URI_CHARS ? uri : `${uri.slice(0, SHOWN_URI_CHARS)}… (${uri.length} characters)`;
}

/**
 * The local path a `file:///…` URI names, refusing every trick before the file
 * system is touched: over-long URIs, paths and names, too many segments,
 * query or fragment, backslashes, control characters, encoded `/`, `\`, `.`
 * or NUL, malformed or double encoding, and empty, `.` or `..` segments.
 * Double encoding is refused outright: a `%XX` left after one decode is an
 * attack far more often than a file name. The length check comes first, so a
 * huge URI costs no more than a short one.
 */
export function pathFromUri(uri: string, limits: PathLimits = DEFAULT_PATH_LIMITS): string {
  const bad = (why: string) => new FileAccessError('BAD_PATH', `Refused ${shownUri(uri)}: ${why}`, shownUri(uri));
  if (!uri.startsWith('file:///')) throw bad('expected a URI of the form file:///absolute/path');
  const raw = uri.slice('file://'.length);
  // Each byte of the path takes at most three characters ("%XX") in the URI.
  if (raw.length > 3 * limits.maxPathBytes)
    throw bad(
      `the URI is ${uri.length} characters long; paths are limited to ${limits.maxPathBytes} bytes (maxPathBytes)`,
    );
  if (/[?#\\]/.test(raw)) throw bad('a file URI may not contain "?", "#" or "\\"');
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw bad('control characters (such as NUL) are not allowed');
  if (/%(2f|5c|2e|00)/i.test(raw)) throw bad('percent-encoded "/", "\\", "." and NUL are not allowed');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw bad('malformed percent-encoding');
  }
  const bytes = Buffer.byteLength(decoded);
  if (bytes > limits.maxPathBytes)
    throw bad(`the path is ${bytes} bytes long, over the limit of ${limits.maxPathBytes} (maxPathBytes)`);
  if (/%[0-9a-f]{2}/i.test(decoded)) throw bad('double percent-encoding is not allowed');
  if (/[\u0000-\u001f\u007f\\]/.test(decoded)) throw bad('encoded control characters and backslashes are not allowed');
  const segments = decoded.split('/').slice(1);
  if (segments.length > limits.maxPathDepth)
    throw bad(`the path has ${segments.length} segments, over the limit of ${limits.maxPathDepth} (maxPathDepth)`);
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    throw bad('empty, "." and ".." path segments are not allowed');
  if (segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES))
    throw bad(`a file or directory name is limited to ${MAX_SEGMENT_BYTES} bytes`);
  if (sep === '\\') {
    if (!/^\/[A-Za-z]:\//.test(decoded)) throw bad('expected a drive letter, as in file:///C:/data/notes.txt');
    return decoded.slice(1).split('/').join(sep);
  }
  return decoded;
}

/** Whether `path` is `root` or lies below it, by text alone. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function insideAny(roots: readonly Root[], path: string, key: 'given' | 'real' | 'both'): boolean {
  return roots.some((r) => (key !== 'real' && isInside(r.given, path)) || (key !== 'given' && isInside(r.real, path)));
}

function outside(uri: string, roots: readonly Root[]): FileAccessError {
  const allowed = roots.map((r) => `${pathToFileURL(r.real).href}/`).join(', ');
  return new FileAccessError('OUTSIDE_ROOT', `Refused ${uri}: it is outside the allowed roots (${allowed})`, uri);
}

/**
 * The real path of `path` when it and every symlink on the way stay inside a
 * root. A missing path is NOT_FOUND only when its nearest existing ancestor is
 * inside a root, so that refusals never reveal what exists outside.
 */
export async function resolveInside(roots: readonly Root[], path: string, uri: string): Promise<string> {
  if (!insideAny(roots, path, 'both')) throw outside(uri, roots);
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const ancestor = await nearestExisting(dirname(path));
      if (ancestor === undefined || !insideAny(roots, ancestor, 'real')) throw outside(uri, roots);
      throw new FileAccessError('NOT_FOUND', `No file at ${uri}`, uri);
    }
    if (code === 'ELOOP')
      throw new FileAccessError('BAD_PATH', `Refused ${uri}: too many levels of symbolic links`, uri);
    throw new FileAccessError('NOT_FOUND', `Cannot read ${uri} (${code ?? 'error'})`, uri, { cause: error });
  }
  if (!insideAny(roots, real, 'real')) throw outside(uri, roots);
  return real;
}

async function nearestExisting(path: string): Promise<string | undefined> {
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      return await realpath(dir);
    } catch {
      if (dirname(dir) === dir) return undefined;
    }
  }
}

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const CHUNK = 64 * 1024;

/**
 * Opens a regular file of at most `maxBytes` for reading. The file is opened without
 * following a final symlink and without blocking (a FIFO cannot hang the open), checked
 * through its descriptor, then re-resolved after opening: if a directory on the way was
 * swapped for a symlink in between, the descriptor and the path no longer name the same
 * file and the open is refused. The caller closes the handle.
 */
export async function openInside(
  roots: readonly Root[],
  path: string,
  real: string,
  uri: string,
  maxBytes = Infinity,
): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(real, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileAccessError('NOT_FOUND', `No file at ${uri}`, uri);
    if (code === 'ELOOP')
      throw new FileAccessError('BAD_PATH', `Refused ${uri}: the path changed while it was being opened`, uri);
    if (code === 'ENXIO' || code === 'EISDIR')
      throw new FileAccessError('NOT_A_FILE', `Refused ${uri}: not a regular file`, uri);
    throw new FileAccessError('NOT_FOUND', `Cannot read ${uri} (${code ?? 'error'})`, uri, { cause: error });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile())
      throw new FileAccessError(
        'NOT_A_FILE',
        `Refused ${uri}: ${info.isDirectory() ? 'it is a directory' : 'not a regular file'}`,
        uri,
      );
    if (info.size > maxBytes) throw tooLarge(uri, maxBytes, info.size);
    const again = await resolveInside(roots, path, uri);
    const check = await stat(again);
    if (check.ino !== info.ino || check.dev !== info.dev) throw outside(uri, roots);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Reads a regular file of at most `maxBytes`, opened by {@link openInside}.
 */
export async function readInside(
  roots: readonly Root[],
  path: string,
  real: string,
  uri: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const handle = await openInside(roots, path, real, uri, maxBytes);
  try {
    // Read to the end, not to the size seen by stat: the file may have grown since.
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      signal?.throwIfAborted();
      const room = Math.min(CHUNK, maxBytes + 1 - total);
      if (room === 0) throw tooLarge(uri, maxBytes);
      const chunk = new Uint8Array(room);
      const { bytesRead } = await handle.read(chunk, 0, room, total);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

function tooLarge(uri: string, maxBytes: number, size?: number): FileAccessError {
  const actual = size === undefined ? 'larger than' : `${formatBytes(size)}, over`;
  return new FileAccessError(
    'TOO_LARGE',
    `Refused ${uri}: the file is ${actual} the limit of ${formatBytes(maxBytes)} (maxBytes ${maxBytes})`,
    uri,
  );
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
