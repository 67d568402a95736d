import { performance } from 'node:perf_hooks';
import { defineConfig, env } from '@trellis/config';
import { definePlugin, ResourceNotFoundError, resourceLink, serviceKey, text, type ServiceKey } from '@trellis/server';
import { z } from 'zod';
import { SearchIndex, type IndexStats, type SearchOptions, type SearchResults } from './bm25.js';
import { loadCorpus, type SkippedFile } from './corpus.js';

/** Figures about the built index and how it was built. */
export interface SearchStats extends IndexStats {
  /** The directories indexed, as configured. */
  roots: string[];
  /** Files left out (too large, unreadable). */
  skipped: SkippedFile[];
  builtAt: string;
  buildMs: number;
}

/** What the search plugin offers other plugins (see `searchIndexKey`). */
export interface SearchIndexService {
  stats(): SearchStats;
  search(query: string, options?: SearchOptions): SearchResults;
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
    SEARCH_MAX_FILE_BYTES: env.number({ int: true, min: 1 }).default(MAX_FILE_BYTES).describe('Files larger than this are not indexed (bytes)'),
  });
}

const isoInstant = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

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
      modified_after: isoInstant.optional().describe('Only documents dated after this ISO date or date-time, e.g. 2026-01-31'),
      tags: z.array(z.string().min(1)).max(20).optional().describe('Only documents carrying every one of these tags'),
    })
    .strict()
    .optional()
    .describe('Optional filters; all given ones must hold'),
  sort_by: z.enum(['relevance', 'date', 'title']).default('relevance').describe('relevance (best first), date (newest first) or title (A–Z)'),
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
 * start-up from SEARCH_PATHS (default: `options.paths`), the `search` tool,
 * the indexed documents as `search://docs/{+path}` resources, and the index
 * statistics as a service (`searchIndexKey`).
 * @example
 * run({ name: 'docs', version: '1.0.0', plugins: [search({ paths: ['./docs'] })] });
 */
export function search(options: SearchPluginOptions = {}) {
  return definePlugin({
    name: 'search',
    config: configSchema(options.paths ?? []),
    async setup(scope) {
      const started = performance.now();
      const { documents, skipped } = await loadCorpus(scope.config.SEARCH_PATHS, { maxFileBytes: scope.config.SEARCH_MAX_FILE_BYTES });
      const index = new SearchIndex(documents);
      const stats: SearchStats = {
        ...index.stats(),
        roots: [...scope.config.SEARCH_PATHS],
        skipped,
        builtAt: new Date().toISOString(),
        buildMs: Math.round(performance.now() - started),
      };
      scope.log.info({ documents: stats.documents, terms: stats.terms, buildMs: stats.buildMs, skipped: skipped.length }, 'search index built');
      scope.provide(searchIndexKey, { stats: () => stats, search: (query, opts) => index.search(query, opts) });

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
          const results = index.search(args.query, {
            limit: args.limit,
            sortBy: args.sort_by,
            filters: {
              ...(args.filters?.path_prefix !== undefined && { path_prefix: args.filters.path_prefix }),
              ...(args.filters?.modified_after !== undefined && { modified_after: new Date(args.filters.modified_after) }),
              ...(args.filters?.tags !== undefined && { tags: args.filters.tags }),
            },
          });
          const hits = results.hits.map((hit) => ({ ...hit, uri: docUri(hit.path) }));
          return {
            content: [text(describeResults(args.query, args.sort_by, results.total, hits)), ...hits.map((h) => resourceLink(h.uri, h.path, { title: h.title, mimeType: 'text/markdown' }))],
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
        complete: { path: (value) => index.paths().filter((p) => p.startsWith(value)).slice(0, 100) },
        list: () => index.paths().map((path) => ({ uri: docUri(path), name: path, title: index.document(path)!.title, mimeType: 'text/markdown' })),
        read(uri, variables) {
          const path = String(variables.path ?? '');
          const doc = index.document(path);
          if (!doc) throw new ResourceNotFoundError(uri, `No indexed document at ${uri}; use the search tool to find one`);
          return [{ uri, mimeType: 'text/markdown', text: doc.body }];
        },
      });
    },
  });
}

/** `search://docs/<path>`, each path segment percent-encoded. */
function docUri(path: string): string {
  return `${DOC_URI}${path.split('/').map(encodeURIComponent).join('/')}`;
}

function describeResults(query: string, sortBy: string, total: number, hits: readonly z.infer<typeof hitSchema>[]): string {
  if (total === 0) return `No documents match "${query}". Try other words or fewer filters.`;
  const lines = [`${hits.length} of ${total} result${total === 1 ? '' : 's'} for "${query}" (sorted by ${sortBy}):`];
  hits.forEach((hit, i) => {
    lines.push(`${i + 1}. ${hit.title} — ${hit.path} (score ${hit.score}, ${hit.date.slice(0, 10)})`, `   ${hit.snippet}`);
  });
  return lines.join('\n');
}
