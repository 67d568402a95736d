import { writeFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineConfig, env } from '@trellis/config';
import { filesServiceKey } from '@trellis/files';
import { definePlugin, ToolError } from '@trellis/server';
import { z } from 'zod';
import type { HashJob, HashResult } from './hash-file.worker.js';

const config = defineConfig({
  HASH_AUDIT_LOG: env
    .string()
    .optional()
    .describe(
      'File that gets one JSON line per hash_file answer, written after the answer is sent (unset: no audit trail)',
    ),
});

/**
 * The `hash_file` tool: the SHA-256 of a file under the files plugin's roots, computed on a
 * worker thread (the seeds' `asyncio.to_thread(_hash, path)`). The main thread opens the file
 * under the sandbox's rules and hands the worker its descriptor, so the worker hashes exactly
 * the file that was checked. After answering, a fire-and-forget follow-up appends the result
 * to HASH_AUDIT_LOG (the seeds' `asyncio.create_task(...)`), drained when the server closes.
 * @example run({ name: 'ref', version: '1.0.0', plugins: [files(), hashFile()] });
 */
export function hashFile() {
  return definePlugin({
    name: 'hash-file',
    dependsOn: ['files'],
    config,
    setup(scope) {
      const files = scope.service(filesServiceKey);
      const hasher = scope.workers('hash-file', { from: import.meta.url });
      const auditLog = scope.config.HASH_AUDIT_LOG;

      scope.tools.add({
        name: 'hash_file',
        title: 'Hash a file',
        description:
          'Computes the SHA-256 digest of a file under the served roots (give its absolute path or its file:/// URI, as resources/list shows it). ' +
          'The hashing runs on a worker thread, so large files do not slow other requests.',
        input: z.object({
          path: z.string().min(1).max(4096).describe('Absolute path or file:/// URI of a file under the served roots'),
        }),
        output: z.object({
          uri: z.string().describe('The file:/// URI of the file hashed'),
          sha256: z
            .string()
            .regex(/^[0-9a-f]{64}$/)
            .describe('SHA-256 digest, lower-case hex'),
          bytes: z.number().int().min(0).describe('Bytes hashed'),
        }),
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
        async handler({ path }, ctx) {
          const uri = toFileUri(path);
          const handle = await files.open(uri).catch((error: unknown) => {
            throw new ToolError(error instanceof Error ? error.message : String(error), { cause: error });
          });
          let result: HashResult;
          try {
            result = await hasher.run<HashResult>({ fd: handle.fd } satisfies HashJob, {
              signal: ctx.signal,
              name: 'hash_file',
            });
          } finally {
            await handle.close();
          }
          if (auditLog !== undefined) {
            const line = `${JSON.stringify({ at: new Date().toISOString(), uri, ...result })}\n`;
            scope.background.spawn('hash-file-audit', (signal) => writeFile(auditLog, line, { flag: 'a', signal }));
          }
          return {
            content: [{ type: 'text', text: `SHA-256 of ${uri} (${result.bytes} bytes): ${result.sha256}` }],
            structuredContent: { uri, ...result },
          };
        },
      });
    },
  });
}

function toFileUri(path: string): string {
  if (path.startsWith('file:')) return path;
  if (!isAbsolute(path))
    throw new ToolError(
      `path must be absolute or a file:/// URI, got ${JSON.stringify(path)}; list the resources to see the files served`,
    );
  return pathToFileURL(path).href;
}
