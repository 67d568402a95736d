import { defineConfig, env } from '@trellis/config';
import { fileOpener, fileResources } from '@trellis/resources/files';
import { definePlugin, serviceKey, type ServiceKey } from '@trellis/server';
import { realpathSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { FilesError } from './errors.js';
import { summarizeRoot, type FilesSummary } from './summary.js';

/** What the files plugin offers other plugins (see `filesSummaryKey`). */
export interface FilesService {
  /** The roots, as absolute real paths. */
  readonly roots: readonly string[];
  /** Larger files are refused when read. */
  readonly maxBytes: number;
  /** Counts and sizes per root; pass a signal to stop a long walk. `maxEntries` caps each root's walk (default 50 000). */
  summarize(options?: { signal?: AbortSignal; maxEntries?: number }): Promise<FilesSummary>;
  /**
   * Opens a `file:///…` URI under the roots for reading, refusing what the resources refuse
   * (outside the roots, symlinks out, not a regular file) with a `FileAccessError`; no size
   * limit (for work on a whole file that does not return it, like hashing). Close the handle.
   */
  open(uri: string): Promise<FileHandle>;
}

/**
 * The service key of the files plugin, for plugins that list `'files'` in `dependsOn`.
 * @example const summary = await scope.service(filesServiceKey).summarize({ signal });
 */
export const filesServiceKey: ServiceKey<FilesService> = serviceKey<FilesService>('files.summary');

/** Options of {@link files}; configuration (env, flags) overrides them. */
export interface FilesPluginOptions {
  /** Directories served when FILES_ROOT is not set. */
  roots?: string[];
  /** The read limit when FILES_MAX_BYTES is not set; default 1 MiB. */
  maxBytes?: number;
}

// 1 MiB: a long document for a model; larger files are rarely what it needs whole.
const DEFAULT_MAX_BYTES = 1024 * 1024;
const DEFAULT_MAX_ENTRIES = 50_000;

function configSchema(options: FilesPluginOptions) {
  return defineConfig({
    FILES_ROOT: env
      .list()
      .default(options.roots ?? [])
      .describe(
        'Directories whose files are served as file:/// resources (comma-separated); nothing outside them can be read',
      ),
    FILES_MAX_BYTES: env
      .number({ int: true, min: 1 })
      .default(options.maxBytes ?? DEFAULT_MAX_BYTES)
      .describe('Largest file served, in bytes; larger ones are refused'),
  });
}

/**
 * Sandboxed file resources: the `file:///{+path}` template over the files
 * under FILES_ROOT (several roots, comma-separated), with path completion,
 * and a summary of the roots as a service (`filesServiceKey`). Reads that try
 * to leave the roots (`..`, encoded tricks, symlinks out) are refused.
 * @example
 * run({ name: 'notes', version: '1.0.0', plugins: [files({ roots: ['./notes'] })] });
 */
export function files(options: FilesPluginOptions = {}) {
  return definePlugin({
    name: 'files',
    config: configSchema(options),
    setup(scope) {
      const { FILES_ROOT: given, FILES_MAX_BYTES: maxBytes } = scope.config;
      if (given.length === 0)
        throw new FilesError('NO_ROOTS', 'FILES_ROOT is empty: give one or more directories to serve');
      let template;
      try {
        template = fileResources({
          roots: [...given],
          maxBytes,
          description: `Files under ${given.join(', ')} (at most ${maxBytes} bytes each)`,
        });
      } catch (error) {
        const detail = error instanceof Error ? error.message.replace(/^fileResources: root/, 'root') : String(error);
        throw new FilesError('ROOT_INVALID', `FILES_ROOT: ${detail}`, { cause: error });
      }
      scope.resources.template(template);
      const roots = given.map((root) => realpathSync(root));
      const open = fileOpener({ roots: [...given] });
      scope.provide(filesServiceKey, {
        roots,
        maxBytes,
        open,
        async summarize({ signal, maxEntries = DEFAULT_MAX_ENTRIES } = {}) {
          const perRoot = await Promise.all(roots.map((root) => summarizeRoot(root, maxBytes, maxEntries, signal)));
          const totals = { files: 0, directories: 0, bytes: 0 };
          for (const r of perRoot) {
            totals.files += r.files;
            totals.directories += r.directories;
            totals.bytes += r.bytes;
          }
          return { maxBytes, roots: perRoot, totals };
        },
      });
      scope.log.debug({ roots, maxBytes }, 'serving files');
    },
  });
}
