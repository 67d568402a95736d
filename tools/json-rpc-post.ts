// One JSON-RPC request POSTed to a Streamable HTTP endpoint at protocol 2026-07-28, as any client sends it
// on the wire, for the tests that speak the protocol without an SDK client (tasks polled and cancelled by id,
// routing headers, the official tasks requester's host-owned dispatch). Shared by the test suites of several
// projects; kept here, beside exports-check.ts, because @trellis/transport's own tests use it too and the
// transport cannot depend on @trellis/testing (which depends on the transport).

/** The protocol these requests speak: the one with per-request routing headers and the `_meta` envelope. */
export const MODERN_PROTOCOL_VERSION = '2026-07-28';

export interface JsonRpcRequest {
  id: number | string;
  method: string;
  params?: Record<string, unknown>;
}

/** What the server answered: a result or an error (an HTTP-level refusal may carry `id: null`). */
export interface JsonRpcAnswer<Result = Record<string, unknown>> {
  jsonrpc?: '2.0';
  id?: number | string | null;
  result?: Result;
  error?: { code: number; message: string; data?: unknown };
}

export interface PostJsonRpcOptions {
  /** Sent after the defaults and the routing headers, replacing any of the same name (names are case-insensitive). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * The headers a 2026-07-28 client sends with `method`: the protocol version, `Mcp-Method`, and `Mcp-Name`
 * for a tool call (the tool's name) or a `tasks/*` request (the task id).
 */
export function routingHeaders(method: string, params: Record<string, unknown> = {}): Record<string, string> {
  const name = method === 'tools/call' ? params.name : method.startsWith('tasks/') ? params.taskId : undefined;
  return {
    'mcp-protocol-version': MODERN_PROTOCOL_VERSION,
    'mcp-method': method,
    ...(typeof name === 'string' && { 'mcp-name': name }),
  };
}

/** The JSON-RPC messages of an SSE body: each event's `data:` lines joined, as the SSE format defines. */
export function sseMessages(body: string): unknown[] {
  const messages: unknown[] = [];
  for (const event of body.replace(/\r\n?/g, '\n').split('\n\n')) {
    const data = event
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
    if (data.length > 0 && data.join('') !== '') messages.push(JSON.parse(data.join('\n')));
  }
  return messages;
}

/**
 * POSTs `request` with the routing headers and returns the server's answer to it, whether the server framed it
 * as one JSON body or as an SSE stream (where the answer is the message carrying the request's id).
 * @example
 * const answer = await postJsonRpc(url, { id: 1, method: 'tasks/get', params: { taskId } });
 */
export async function postJsonRpc<Result = Record<string, unknown>>(
  url: string,
  request: JsonRpcRequest,
  options: PostJsonRpcOptions = {},
): Promise<JsonRpcAnswer<Result>> {
  const headers = new Headers({
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...routingHeaders(request.method, request.params),
  });
  for (const [key, value] of Object.entries(options.headers ?? {})) headers.set(key, value);
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', ...request }),
    ...(options.signal && { signal: options.signal }),
  });
  const text = await response.text();
  if (!response.headers.get('content-type')?.includes('text/event-stream')) {
    try {
      return JSON.parse(text) as JsonRpcAnswer<Result>;
    } catch {
      throw new Error(`${request.method}: HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
  }
  const answer = sseMessages(text).find((message) => (message as { id?: unknown }).id === request.id);
  if (answer === undefined)
    throw new Error(
      `${request.method}: the SSE stream (HTTP ${response.status}) ended without an answer to id ${request.id}`,
    );
  return answer as JsonRpcAnswer<Result>;
}
