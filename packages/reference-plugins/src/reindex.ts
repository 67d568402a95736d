import { searchIndexKey } from '@trellis/search';
import { definePlugin } from '@trellis/server';
import { z } from 'zod';

/**
 * The `reindex_search` tool: reads the search roots again and swaps in a fresh
 * index, through the search plugin's own `reindex` (the same one its periodic
 * change check runs). On a large corpus it takes seconds, so it may run as an
 * MCP task: clients with the Tasks extension get a task whose status message
 * is the progress (`read 1200 of 5000 files`) and which they can cancel — a
 * cancelled re-index leaves the index in use as it was. Other clients wait for
 * the answer as for any call.
 * @example run({ name: 'docs', version: '1.0.0', plugins: [search({ paths: ['./docs'] }), reindexSearch()] });
 */
export function reindexSearch() {
  return definePlugin({
    name: 'reindex-search',
    dependsOn: ['search'],
    setup(scope) {
      const index = scope.service(searchIndexKey);
      scope.tools.add({
        name: 'reindex_search',
        title: 'Re-index the search corpus',
        description:
          'Reads the indexed folders again and replaces the search index (searches keep using the old one until the new one is complete). ' +
          'Takes seconds on a large corpus: clients that support MCP tasks can poll its progress and cancel it; cancelling keeps the old index.',
        output: z.object({ documents: z.number().int(), changed: z.number().int(), buildMs: z.number() }),
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
        taskSupport: 'optional',
        // A re-index is long-running by nature: clients with the extension always get a task (detachAfterMs 0).
        task: { ttlMs: 60 * 60_000, pollIntervalMs: 500, detachAfterMs: 0 },
        // One re-index at a time is the search plugin's rule; a second call waits for the first.
        handler: async (_args, ctx) => {
          const report = await index.reindex({
            signal: ctx.signal,
            onProgress: ({ done, total }) => void ctx.progress(done, total, `read ${done} of ${total} files`),
          });
          const summary = { documents: report.documents, changed: report.changed.length, buildMs: report.buildMs };
          return {
            content: [
              {
                type: 'text',
                text: `Re-indexed ${summary.documents} documents in ${summary.buildMs} ms (${summary.changed} added, removed or changed).`,
              },
            ],
            structuredContent: summary,
          };
        },
      });
    },
  });
}
