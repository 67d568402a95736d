/**
 * @trellis/reference-plugins: the plugins of the reference app — `add_numbers`, `hash_file`
 * (on a worker thread), the `code_review` prompt, the `server_dashboard` tool and `reindex_search`
 * (a long-running tool that may run as an MCP task).
 */
import { addNumbers } from './add-numbers.js';
import { codeReview } from './code-review.js';
import { hashFile } from './hash-file.js';
import { reindexSearch } from './reindex.js';
import { serverDashboard, type ServerDashboardOptions } from './dashboard/plugin.js';

export { addNumbers } from './add-numbers.js';
export { codeReview, REVIEW_LANGUAGES } from './code-review.js';
export { hashFile } from './hash-file.js';
export { reindexSearch } from './reindex.js';
export { serverDashboard } from './dashboard/plugin.js';
export type { ServerDashboardOptions } from './dashboard/plugin.js';
export type { SourceFailure } from './dashboard/format.js';
export type { DashboardSource, SourceContext } from './dashboard/sources.js';

/**
 * The five plugins of the reference app, in order; the dashboard and `reindex_search` need the
 * `search` plugin beside them (the dashboard `files` too), `hash_file` the `files` plugin.
 * @example run({ name: 'ref', version: '1.0.0', plugins: [files(), search(), ...referencePlugins()] });
 */
export function referencePlugins(options: { dashboard?: ServerDashboardOptions } = {}) {
  return [addNumbers(), hashFile(), codeReview(), serverDashboard(options.dashboard), reindexSearch()] as const;
}
