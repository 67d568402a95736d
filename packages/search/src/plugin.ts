import { extname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Semaphore, sleep } from '@trellis/concurrency';
import { defineConfig, env } from '@trellis/config';
import { definePlugin, ResourceNotFoundError, resourceLink, serviceKey, text, type ServiceKey } from '@trellis/server';
import { z } from 'zod';
import { SearchIndex, type IndexStats, type SearchOptions, type SearchResults } from './bm25.js';
import { corpusFingerprint, loadCorpus, type SkippedFile } from './corpus.js';

/** Figures about the built index and how it was built. */
export interface SearchStats extends IndexStats {
  /** The directories indexed, as configured. */
  roots: string[];
  /** Files left out (too large, unreadable). */
  skipped: SkippedFile[];
  builtAt: string;
  buildMs: number;
}

/** How far a re-index has come: files read of files found. */
export interface ReindexProgress {
  done: number;
  total: number;
}

/** Options of {@link SearchIndexService.reindex}. */
export interface ReindexOptions {
  /** Aborting stops the re-index; the index in use stays as it was. */
  signal?: AbortSignal;
  /** Called as files are read. */
  onProgress?: (progress: ReindexProgress) => void;
}

/** What a re-index did. */
export interface ReindexReport {
  documents: number;
  /** Paths added, removed or changed since the index it replaced. */
  changed: string[];
  buildMs: number;
}

/** What the search plugin offers other plugins (see `searchIndexKey`). */
export interface SearchIndexService {
  stats(): SearchStats;
  search(query: string, options?: SearchOptions): SearchResults;
  /**
   * Reads the roots again and swaps in a fresh index (one re-index at a time; searches
   * keep using the old index until the new one is whole).
   * @example await scope.service(searchIndexKey).reindex({ signal: ctx.signal, onProgress: ({ done, total }) => ctx.progress(done, total) });
   */
  reindex(options?: ReindexOptions): Promise<ReindexReport>;
}

/**
 * The service key of the search index, for plugins that list `'search'` in `dependsOn`.
 * @example const stats = scope.service(searchIndexKey).stats();
 */
export const searchIndexKey: ServiceKey<SearchIndexService> = serviceKey<SearchIndexService>('search.index');

/** Options of {@link search}; configuration (env, flags) overrides them. */
export interface SearchPluginOptions {
  /** Directories of markdown documents indexed when SEARCH_PATHS is not set. */
  paths?: string[];
}

const MAX_FILE_BYTES = 2 * 1024 * 1024;

function configSchema(defaultPaths: string[]) {
  return defineConfig({
    SEARCH_PATHS: env
      .list()
      .default(defaultPaths)
      .describe('Directories of markdown/text documents indexed at start-up (comma-separated)'),
    // 2 MiB: far larger than any hand-written document; bigger files are usually generated data.
    SEARCH_MAX_FILE_BYTES: env
      .number({ int: true, min: 1 })
      .default(MAX_FILE_BYTES)
      .describe('Files larger than this are not indexed (bytes)'),
    // 30 s: edits show up in search within half a minute; a scan of sizes and dates is cheap.
    SEARCH_REINDEX_INTERVAL_MS: env
      .number({ int: true, min: 0 })
      .default(30_000)
      .describe('How often to look for changed files under SEARCH_PATHS and re-index if any changed (ms; 0 = never)'),
  });
}

const isoInstant = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: (issue) =>
    `expected an ISO 8601 date like 2026-01-31 or a date-time with an offset like 2026-01-31T09:30:00Z, got ${JSON.stringify(issue.input)}`,
});

const searchInput = z.object({
  query: z
    .string()
    .min(1)
    .max(500)
    .refine((q) => q.trim() === q, { message: 'must not start or end with whitespace; trim the query and try again' })
    .describe('Words to look for (1–500 characters, no leading or trailing spaces)'),
  limit: z.number().int().min(1).max(100).default(10).describe('Most results to return (1–100)'),
  filters: z
    .object({
      path_prefix: z.string().min(1).optional().describe('Only documents whose path starts with this, e.g. "docs/"'),
      modified_after: isoInstant
        .optional()
        .describe('Only documents dated after this ISO date or date-time, e.g. 2026-01-31'),
      tags: z.array(z.string().min(1)).max(20).optional().describe('Only documents carrying every one of these tags'),
    })
    .strict()
    .optional()
    .describe('Optional filters; all given ones must hold'),
  sort_by: z
    .enum(['relevance', 'date', 'title'])
    .default('relevance')
    .describe('relevance (best first), date (newest first) or title (A–Z)'),
});

const hitSchema = z.object({
  title: z.string(),
  path: z.string(),
  uri: z.string(),
  snippet: z.string(),
  score: z.number(),
  date: z.string(),
  tags: z.array(z.string()),
});

const searchOutput = z.object({
  query: z.string(),
  sort_by: z.enum(['relevance', 'date', 'title']),
  total: z.number().int(),
  results: z.array(hitSchema),
});

const DOC_URI = 'search://docs/';

/**
 * Full-text search over local markdown documents: a BM25 index built at
 * start-up from SEARCH_PATHS (default: `options.paths`) and rebuilt when files
 * there change (checked every SEARCH_REINDEX_INTERVAL_MS), the `search` tool,
 * the indexed documents as `search://docs/{+path}` resources, and the index
 * (statistics, search, re-index) as a service (`searchIndexKey`).
 * @example
 * run({ name: 'docs', version: '1.0.0', plugins: [search({ paths: ['./docs'] })] });
 */
export function search(options: SearchPluginOptions = {}) {
  return definePlugin({
    name: 'search',
    config: configSchema(options.paths ?? []),
    async setup(scope) {
      const roots = scope.config.SEARCH_PATHS;
      const maxFileBytes = scope.config.SEARCH_MAX_FILE_BYTES;
      const build = async (options: ReindexOptions) => {
        const started = performance.now();
        const fingerprint = await corpusFingerprint(roots, { ...(options.signal && { signal: options.signal }) });
        const { documents, skipped } = await loadCorpus(roots, {
          maxFileBytes,
          ...(options.signal && { signal: options.signal }),
          ...(options.onProgress && { onFile: (done: number, total: number) => options.onProgress!({ done, total }) }),
        });
        const index = new SearchIndex(documents);
        const stats: SearchStats = {
          ...index.stats(),
          roots: [...roots],
          skipped,
          builtAt: new Date().toISOString(),
          buildMs: Math.round(performance.now() - started),
        };
        return { index, stats, fingerprint };
      };
      let current = await build({});
      scope.log.info(
        {
          documents: current.stats.documents,
          terms: current.stats.terms,
          buildMs: current.stats.buildMs,
          skipped: current.stats.skipped.length,
        },
        'search index built',
      );

      // One re-index at a time: the periodic one and one asked for by a plugin never overlap.
      const oneAtATime = new Semaphore(1);
      const reindex = async (options: ReindexOptions = {}): Promise<ReindexReport> => {
        const release = await oneAtATime.acquire({ ...(options.signal && { signal: options.signal }) });
        try {
          const previous = current.index;
          const next = await build(options);
          options.signal?.throwIfAborted();
          current = next;
          const changed = changedPaths(previous, next.index);
          for (const path of changed) if (next.index.document(path)) scope.resources.notifyUpdated(docUri(path));
          scope.log.info(
            { documents: next.stats.documents, changed: changed.length, buildMs: next.stats.buildMs },
            'search index rebuilt',
          );
          return { documents: next.stats.documents, changed, buildMs: next.stats.buildMs };
        } finally {
          release();
        }
      };
      scope.provide(searchIndexKey, {
        stats: () => current.stats,
        search: (query, opts) => current.index.search(query, opts),
        reindex,
      });

      const intervalMs = scope.config.SEARCH_REINDEX_INTERVAL_MS;
      if (intervalMs > 0) {
        // A periodic job owned by the plugin: started here, stopped (and awaited) at close.
        const stop = new AbortController();
        const loop = watchForChanges(
          intervalMs,
          stop.signal,
          async (signal) => {
            const fingerprint = await corpusFingerprint(roots, { signal });
            if (fingerprint !== current.fingerprint) await reindex({ signal });
          },
          (error) => scope.log.warn({ err: error }, 'search re-index failed; the previous index stays in use'),
        );
        scope.onClose(async () => {
          stop.abort(new Error('the server is shutting down'));
          await loop;
        });
      }

      scope.tools.add({
        name: 'search',
        title: 'Search the documents',
        description:
          'Full-text search (BM25 ranking) over the documents this server indexed at start-up. Returns the best matches with a snippet, ' +
          'a score and a resource URI to read the whole document. Filter by path prefix, date or tags; sort by relevance, date or title.',
        input: searchInput,
        output: searchOutput,
        annotations: { readOnlyHint: true, openWorldHint: false },
        handler(args) {
          const results = current.index.search(args.query, {
            limit: args.limit,
            sortBy: args.sort_by,
            filters: {
              ...(args.filters?.path_prefix !== undefined && { path_prefix: args.filters.path_prefix }),
              ...(args.filters?.modified_after !== undefined && {
                modified_after: new Date(args.filters.modified_after),
              }),
              ...(args.filters?.tags !== undefined && { tags: args.filters.tags }),
            },
          });
          const hits = results.hits.map((hit) => ({ ...hit, uri: docUri(hit.path) }));
          return {
            content: [
              text(describeResults(args.query, args.sort_by, results.total, hits)),
              ...hits.map((h) => resourceLink(h.uri, h.path, { title: h.title, mimeType: mimeTypeOf(h.path) })),
            ],
            structuredContent: { query: args.query, sort_by: args.sort_by, total: results.total, results: hits },
          };
        },
      });

      scope.resources.template({
        uriTemplate: `${DOC_URI}{+path}`,
        name: 'search-documents',
        title: 'Indexed documents',
        description: 'The documents the search tool indexed, by the path it reports',
        mimeType: 'text/markdown',
        complete: {
          path: (value) =>
            current.index
              .paths()
              .filter((p) => p.startsWith(value))
              .slice(0, 100),
        },
        list: () =>
          current.index.paths().map((path) => ({
            uri: docUri(path),
            name: path,
            title: current.index.document(path)!.title,
            mimeType: mimeTypeOf(path),
          })),
        read(uri, variables) {
          const path = String(variables.path ?? '');
          const doc = current.index.document(path);
          if (!doc)
            throw new ResourceNotFoundError(uri, `No indexed document at ${uri}; use the search tool to find one`);
          return [{ uri, mimeType: mimeTypeOf(path), text: doc.body }];
        },
      });
    },
  });
}

/** Plain text stays plain text; everything else the corpus holds is markdown. */
function mimeTypeOf(path: string): string {
  return extname(path).toLowerCase() === '.txt' ? 'text/plain' : 'text/markdown';
}

/** Documents added, removed or whose text changed between two indexes. */
function changedPaths(before: SearchIndex, after: SearchIndex): string[] {
  const changed = new Set<string>();
  for (const path of after.paths()) if (before.document(path)?.body !== after.document(path)!.body) changed.add(path);
  for (const path of before.paths()) if (!after.document(path)) changed.add(path);
  return [...changed].sort();
}

/**
 * Runs `check` every `intervalMs` until `signal` aborts (the seeds' `while True: await
 * asyncio.sleep(...)` clean-up loop, with a way out). A failed check is reported and the
 * loop goes on; resolves once stopped, never rejects.
 */
async function watchForChanges(
  intervalMs: number,
  signal: AbortSignal,
  check: (signal: AbortSignal) => Promise<void>,
  onError: (error: unknown) => void,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await sleep(intervalMs, { signal });
      await check(signal);
    } catch (error) {
      if (!signal.aborted) onError(error);
    }
  }
}

/** `search://docs/<path>`, each path segment percent-encoded. */
function docUri(path: string): string {
  return `${DOC_URI}${path.split('/').map(encodeURIComponent).join('/')}`;
}

function describeResults(
  query: string,
  sortBy: string,
  total: number,
  hits: readonly z.infer<typeof hitSchema>[],
): string {
  if (total === 0) return `No documents match "${query}". Try other words or fewer filters.`;
  const lines = [`${hits.length} of ${total} result${total === 1 ? '' : 's'} for "${query}" (sorted by ${sortBy}):`];
  hits.forEach((hit, i) => {
    lines.push(
      `${i + 1}. ${hit.title} — ${hit.path} (score ${hit.score}, ${hit.date.slice(0, 10)})`,
      `   ${hit.snippet}`,
    );
  });
  return lines.join('\n');
}
