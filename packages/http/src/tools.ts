import { anySignal, settleAll } from '@trellis/concurrency';
import { ToolError, type PluginScope } from '@trellis/server';
import { z } from 'zod';
import { decodeBody } from './body.js';
import type { HttpConfig } from './config.js';
import { DeadlineError, HttpError } from './errors.js';
import type { HttpClient, HttpResponse } from './types.js';

/** Response headers worth showing a model; the rest are noise or cookies. */
const SHOWN_HEADERS = [
  'content-type',
  'content-length',
  'content-language',
  'last-modified',
  'etag',
  'cache-control',
  'location',
  'retry-after',
];

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const httpGetInput = z.object({
  url: z.string().min(1).max(8192).describe('Absolute http:// or https:// URL to fetch'),
  headers: z
    .record(
      z.string().regex(TOKEN, 'must be a header name'),
      z
        .string()
        .max(8192)
        .regex(/^[^\r\n\0]*$/, 'must not contain line breaks'),
    )
    .optional()
    .describe('Extra request headers, e.g. {"accept": "application/json"}'),
});

const httpGetOutput = z.object({
  url: z.string().describe('Final URL, after redirects'),
  status: z.number().int(),
  headers: z.record(z.string(), z.string()).describe('Selected response headers'),
  bodyKind: z.enum(['text', 'binary']),
  body: z.string().describe('The body as text, or a note when it is binary'),
  bytes: z.number().int().describe('Bytes of body read'),
  truncated: z.boolean().describe('True when the body was cut at the size limit'),
  redirects: z.array(z.string()),
});

const bulkItem = z.object({
  url: z.string(),
  ok: z.boolean().describe('True when a response arrived (whatever its status)'),
  status: z.number().int().optional(),
  contentType: z.string().optional(),
  bytes: z.number().int().optional(),
  truncated: z.boolean().optional(),
  body: z.string().optional().describe('The start of the body as text, or a note when it is binary'),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

const bulkOutput = z.object({
  results: z.array(bulkItem).describe('One entry per URL, in the order given'),
  fetched: z.number().int(),
  failed: z.number().int(),
  deadlineMs: z.number().int().describe('The overall deadline of the call (HTTP_BULK_DEADLINE_MS)'),
  deadlineReached: z
    .boolean()
    .describe('True when the deadline cut the call short: URLs with error DEADLINE were not (fully) fetched'),
  elapsedMs: z.number().int(),
});

/** Registers `http_get` and `bulk_fetch` on the plugin's scope. */
export function registerTools(scope: PluginScope<HttpConfig>, client: HttpClient): void {
  const config = scope.config;

  scope.tools.add({
    name: 'http_get',
    title: 'Fetch a URL',
    description:
      `Fetches one public http(s) URL with GET and returns the status, selected headers and the body as text ` +
      `(binary bodies are described, not shown; bodies over ${config.HTTP_MAX_BYTES} bytes are cut). ` +
      'Private, loopback and cloud-metadata addresses are refused.',
    input: httpGetInput,
    output: httpGetOutput,
    annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
    async handler({ url, headers }, ctx) {
      const response = await fetchForTool(client, url, {
        signal: ctx.signal,
        overflow: 'truncate',
        ...(headers && { headers }),
      });
      const decoded = decodeBody(response.body, response.headers['content-type']);
      const body = decoded.kind === 'text' ? decoded.text : binaryNote(response, decoded.mediaType);
      const shown = Object.fromEntries(
        SHOWN_HEADERS.flatMap((name) =>
          response.headers[name] === undefined ? [] : [[name, response.headers[name]!]],
        ),
      );
      const lines = [
        statusLine(response),
        ...Object.entries(shown).map(([name, value]) => `${name}: ${value}`),
        '',
        body,
      ];
      if (response.truncated) lines.push('', truncationNote(response, config.HTTP_MAX_BYTES));
      return {
        content: [{ type: 'text', text: lines.join('\n') }],
        structuredContent: {
          url: response.url,
          status: response.status,
          headers: shown,
          bodyKind: decoded.kind,
          body,
          bytes: response.body.byteLength,
          truncated: response.truncated,
          redirects: [...response.redirects],
        },
      };
    },
  });

  const maxUrls = config.HTTP_BULK_MAX_URLS;
  scope.tools.add({
    name: 'bulk_fetch',
    title: 'Fetch several URLs',
    description:
      `Fetches up to ${maxUrls} public http(s) URLs with GET, a few at a time, and returns partial results: ` +
      `each URL's status and the start of its body (${config.HTTP_BULK_MAX_CHARS} characters), or the named error for that URL. ` +
      `One bad URL never fails the whole call, and the call ends within ${config.HTTP_BULK_DEADLINE_MS} ms with what it has (URLs left over get error DEADLINE).`,
    input: z.object({
      urls: z.array(z.string().min(1).max(8192)).min(1).max(maxUrls).describe(`URLs to fetch (at most ${maxUrls})`),
      concurrency: z
        .number()
        .int()
        .min(1)
        .max(maxUrls)
        .optional()
        .describe(
          `How many to fetch at once (default ${config.HTTP_BULK_CONCURRENCY}; each host also has its own limit)`,
        ),
    }),
    output: bulkOutput,
    annotations: { readOnlyHint: true, openWorldHint: true, idempotentHint: true },
    async handler({ urls, concurrency }, ctx) {
      const deadlineMs = config.HTTP_BULK_DEADLINE_MS;
      const started = Date.now();
      // The deadline ends the fetches, not the call: what arrived in time is still returned.
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(), deadlineMs);
      const fetchOne = async (url: string, signal: AbortSignal) => {
        if (deadline.signal.aborted) throw new DeadlineError(url, deadlineMs, false);
        const linked = anySignal([signal, deadline.signal]);
        try {
          return await client.request(url, { signal: linked.signal, overflow: 'truncate' });
        } catch (error) {
          if (deadline.signal.aborted && !signal.aborted) throw new DeadlineError(url, deadlineMs, true);
          throw error;
        } finally {
          linked.dispose();
        }
      };
      let settled;
      try {
        settled = await settleAll(
          urls.map((url) => (signal: AbortSignal) => fetchOne(url, signal)),
          { concurrency: concurrency ?? config.HTTP_BULK_CONCURRENCY, signal: ctx.signal },
        );
      } finally {
        clearTimeout(timer);
      }
      const { ok, failed } = settled;
      const deadlineReached = deadline.signal.aborted;
      const results: Array<z.input<typeof bulkItem>> = urls.map((url) => ({ url, ok: false }));
      for (const { index, value } of ok) results[index] = bulkSuccess(urls[index]!, value, config.HTTP_BULK_MAX_CHARS);
      for (const { index, error } of failed) {
        if (!(error instanceof HttpError))
          ctx.log.warn({ err: error, url: urls[index] }, 'bulk_fetch: unexpected failure');
        results[index] = { url: urls[index]!, ok: false, error: describeError(error) };
      }
      const elapsedMs = Date.now() - started;
      const summary =
        `Fetched ${ok.length} of ${urls.length} URL${urls.length === 1 ? '' : 's'}${failed.length ? ` (${failed.length} failed)` : ''}` +
        (deadlineReached
          ? `; stopped at the overall deadline of ${deadlineMs} ms (HTTP_BULK_DEADLINE_MS), so these results are partial.`
          : '.');
      const entries = results.map((item, index) =>
        item.error
          ? `[${index + 1}] ${item.url}\nerror ${item.error.code}: ${item.error.message}`
          : `[${index + 1}] ${item.url}\nHTTP ${item.status} ${item.contentType ?? ''}, ${item.bytes} bytes${item.truncated ? ' (cut at the size limit)' : ''}\n${item.body}`,
      );
      return {
        content: [{ type: 'text', text: [summary, ...entries].join('\n\n') }],
        structuredContent: {
          results,
          fetched: ok.length,
          failed: failed.length,
          deadlineMs,
          deadlineReached,
          elapsedMs,
        },
      };
    },
  });
}

/** Runs a fetch for a tool: the package's errors become messages the model can act on. */
async function fetchForTool(
  client: HttpClient,
  url: string,
  options: Parameters<HttpClient['request']>[1],
): Promise<HttpResponse> {
  try {
    return await client.request(url, options);
  } catch (error) {
    if (error instanceof HttpError) throw new ToolError(`${error.code}: ${error.message}`, { cause: error });
    throw error;
  }
}

function bulkSuccess(url: string, response: HttpResponse, maxChars: number): z.input<typeof bulkItem> {
  const contentType = response.headers['content-type'];
  const decoded = decodeBody(response.body, contentType);
  let body = decoded.kind === 'text' ? decoded.text : binaryNote(response, decoded.mediaType);
  const cut = decoded.kind === 'text' && body.length > maxChars;
  if (cut)
    body = `${body.slice(0, maxChars)}… [${body.length - maxChars} more characters not shown; use http_get for the whole body]`;
  return {
    url,
    ok: true,
    status: response.status,
    ...(contentType !== undefined && { contentType }),
    bytes: response.body.byteLength,
    truncated: response.truncated,
    body,
  };
}

function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof HttpError) return { code: error.code, message: error.message };
  return { code: 'FAILED', message: error instanceof Error ? error.message : String(error) };
}

function statusLine(response: HttpResponse): string {
  const hops = response.redirects.length;
  return `HTTP ${response.status} from ${response.url}${hops ? ` (after ${hops} redirect${hops === 1 ? '' : 's'})` : ''}`;
}

function binaryNote(response: HttpResponse, mediaType: string): string {
  return `[binary body: ${response.body.byteLength}${response.truncated ? '+' : ''} bytes of ${mediaType}, not shown]`;
}

function truncationNote(response: HttpResponse, maxBytes: number): string {
  return `[truncated: the body is longer than ${maxBytes} bytes (HTTP_MAX_BYTES); only the first ${response.body.byteLength} bytes are shown]`;
}
