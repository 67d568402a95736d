/**
 * @trellis/search: a local full-text index (BM25) over markdown documents, served as the
 * `search` tool and `search://docs/…` resources, with its statistics as a service.
 */
export type { SearchFilters, SearchHit, SearchOptions, SearchResults, SortBy, IndexStats } from './bm25.js';
export { SearchIndex } from './bm25.js';
export type { SourceDocument, SkippedFile } from './corpus.js';
export { SearchError } from './errors.js';
export type { SearchErrorCode } from './errors.js';
export { search, searchIndexKey } from './plugin.js';
export type {
  ReindexOptions,
  ReindexProgress,
  ReindexReport,
  SearchIndexService,
  SearchPluginOptions,
  SearchStats,
} from './plugin.js';
