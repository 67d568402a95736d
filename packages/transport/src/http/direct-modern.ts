import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo, JSONRPCMessage, JSONRPCRequest, Server } from '@modelcontextprotocol/server';
import type { TrellisServer } from '@trellis/server';
import { isDirectToolCall, runDirectCall } from '../direct/call.js';
import { sendJson } from './wire.js';

const MODERN = '2026-07-28';

/**
 * Whether a 2026-07-28 POST is a plain tool call the direct path may serve:
 * a well-formed `tools/call` with a complete envelope (see `direct/call.ts`)
 * whose `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers agree
 * with the body, on no session, from a client that accepts both answer forms.
 * Anything else (including every malformed case, which the SDK answers with
 * the codes the protocol asks for) goes to the SDK's handler.
 */
export function isModernDirectCall(req: IncomingMessage, body: unknown): body is JSONRPCRequest {
  const headers = req.headers;
  if (headers['mcp-protocol-version'] !== MODERN || headers['mcp-method'] !== 'tools/call' || headers['mcp-session-id'] !== undefined) return false;
  const accept = headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return false;
  if (!isDirectToolCall(body, 'modern')) return false;
  return headers['mcp-name'] === (body.params as { name: string }).name;
}

/**
 * Serves a 2026-07-28 tool call straight from the parsed body: JSON, or an
 * event stream once the tool reports progress or logs (as the SDK's `auto`
 * response mode does). A disconnect aborts the call. `handOver` gives the
 * request to the SDK (an `input_required` answer or a protocol error needs
 * its checks and status codes) and writes its response, continuing a stream
 * already begun.
 */
export async function serveModernDirect(
  core: TrellisServer,
  protocol: Server,
  res: ServerResponse,
  message: JSONRPCRequest,
  auth: AuthInfo | undefined,
  handOver: (streaming: boolean) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client disconnected'));
  });
  let streaming = false;
  const stream = (event: JSONRPCMessage) => {
    if (res.destroyed) return;
    if (!streaming) {
      streaming = true;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    }
    res.write(`event: message\ndata: ${JSON.stringify(event)}\n\n`);
  };
  const outcome = await runDirectCall(core, protocol, 'modern', message, controller.signal, {
    push: 'handover',
    ...(auth && { authInfo: auth }),
    notify: async (notification) => stream({ jsonrpc: '2.0', ...notification } as JSONRPCMessage),
    // Logs on 2026-07-28 follow the request's envelope level, which the direct context applies.
    log: async () => undefined,
  });
  // Protocol errors carry era-specific HTTP statuses (-32021 is a 400): the SDK answers those itself.
  if (outcome.kind === 'handover' || outcome.kind === 'error') return handOver(streaming);
  if (outcome.kind === 'aborted') {
    res.end();
    return;
  }
  const answer = { jsonrpc: '2.0', id: message.id, result: outcome.result };
  if (streaming) {
    stream(answer as JSONRPCMessage);
    res.end();
    return;
  }
  sendJson(res, 200, JSON.stringify(answer));
}
