/**
 * @trellis/reference-plugins: the plugins of the reference app — `add_numbers`, the
 * `code_review` prompt and the `server_dashboard` tool.
 */
import { addNumbers } from './add-numbers.js';
import { codeReview } from './code-review.js';
import { serverDashboard, type ServerDashboardOptions } from './dashboard/plugin.js';

export { addNumbers } from './add-numbers.js';
export { codeReview, REVIEW_LANGUAGES } from './code-review.js';
export { serverDashboard } from './dashboard/plugin.js';
export type { ServerDashboardOptions } from './dashboard/plugin.js';
export type { SourceFailure } from './dashboard/format.js';
export type { DashboardSource, SourceContext } from './dashboard/sources.js';

/**
 * The three plugins of the reference app, in order; the dashboard needs the
 * `search` and `files` plugins beside them.
 * @example run({ name: 'ref', version: '1.0.0', plugins: [files(), search(), ...referencePlugins()] });
 */
export function referencePlugins(options: { dashboard?: ServerDashboardOptions } = {}) {
  return [addNumbers(), codeReview(), serverDashboard(options.dashboard)] as const;
}
