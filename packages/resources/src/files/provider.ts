import type { CacheHint } from '@modelcontextprotocol/server';
import type { ResourceTemplateSpec } from '../define.js';
import { asText, fileType } from './mime.js';
import type { FileHandle } from 'node:fs/promises';
import { DEFAULT_PATH_LIMITS, openInside, pathFromUri, readInside, resolveInside, resolveRoots } from './sandbox.js';
import { completePath, listFiles } from './walk.js';

export interface FileResourcesOptions {
  /** Directories whose files may be read; resolved (symlinks too) once, when the provider is made. */
  roots: string[];
  /** Larger files are refused with a `TOO_LARGE` error naming the limit; default 1 MiB. */
  maxBytes?: number;
  /** Longest path a URI may name, in UTF-8 bytes; longer URIs are refused before any file system call. Default 4096 (PATH_MAX). */
  maxPathBytes?: number;
  /** Most segments a path may have. Default 64. */
  maxPathDepth?: number;
  /** How many files `resources/list` shows at most (0: none); default 1000. Any file inside a root can still be read. */
  listLimit?: number;
  /** The template's name; default "files". */
  name?: string;
  title?: string;
  /** Default: "Files under <roots>". */
  description?: string;
  cacheHint?: CacheHint;
}

/**
 * A sandboxed file provider: the template `file:///{+path}` over files inside
 * the given roots. URIs are standard file URIs of absolute paths
 * (`file:///srv/docs/a%20b.md`). Text files (by extension and a UTF-8 check)
 * come back as text, others as base64 blobs with a MIME type from the
 * extension (`application/octet-stream` when unknown). Paths that try to
 * leave the roots — `..`, encoded or double-encoded traversal, absolute paths
 * elsewhere, symlinks pointing out, NUL bytes — are refused with a
 * `FileAccessError`, as are non-regular files and files over `maxBytes`;
 * over-long or over-deep paths are refused before the file system is touched.
 * Node-only: import it from `@trellis/resources/files`.
 * @example
 * registry.addTemplate(fileResources({ roots: ['./docs'], maxBytes: 512 * 1024 }), 'files');
 */
export function fileResources<Ctx extends { signal?: AbortSignal }>(
  options: FileResourcesOptions,
): ResourceTemplateSpec<Ctx> {
  const roots = resolveRoots(options.roots);
  const maxBytes = positiveInteger('maxBytes', options.maxBytes ?? 1024 * 1024, 1);
  const listLimit = positiveInteger('listLimit', options.listLimit ?? 1000, 0);
  const limits = {
    maxPathBytes: positiveInteger('maxPathBytes', options.maxPathBytes ?? DEFAULT_PATH_LIMITS.maxPathBytes, 1),
    maxPathDepth: positiveInteger('maxPathDepth', options.maxPathDepth ?? DEFAULT_PATH_LIMITS.maxPathDepth, 1),
  };
  return {
    uriTemplate: 'file:///{+path}',
    name: options.name ?? 'files',
    ...(options.title !== undefined && { title: options.title }),
    description: options.description ?? `Files under ${roots.map((r) => r.real).join(', ')}`,
    ...(options.cacheHint !== undefined && { cacheHint: options.cacheHint }),
    complete: {
      path: (value, _context, ctx) => completePath(roots, value, ctx.signal, limits.maxPathBytes),
    },
    list: (ctx) => (listLimit === 0 ? [] : listFiles(roots, listLimit, ctx.signal)),
    async read(uri, _variables, ctx) {
      const path = pathFromUri(uri, limits);
      const real = await resolveInside(roots, path, uri);
      const bytes = await readInside(roots, path, real, uri, maxBytes, ctx.signal);
      const type = fileType(real);
      const text = type.text ? asText(bytes) : undefined;
      if (text !== undefined) return [{ uri, mimeType: type.mime ?? 'text/plain', text }];
      return [
        {
          uri,
          mimeType: type.mime ?? 'application/octet-stream',
          blob: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
        },
      ];
    },
  };
}

/**
 * Opens `file:///…` URIs for reading under the same rules as {@link fileResources}: a URI
 * that leaves the roots, or names no regular file, is refused with a `FileAccessError`.
 * No size limit: for work on whole files (hashing) that never returns their bytes. The
 * caller closes the handle.
 * @example
 * const handle = await fileOpener({ roots: ['./docs'] })('file:///srv/docs/a.md');
 * try { digest(handle.fd); } finally { await handle.close(); }
 */
export function fileOpener(options: { roots: string[] }): (uri: string) => Promise<FileHandle> {
  const roots = resolveRoots(options.roots);
  return async (uri) => {
    const path = pathFromUri(uri);
    return openInside(roots, path, await resolveInside(roots, path, uri), uri);
  };
}

function positiveInteger(option: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`fileResources: ${option} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}
