import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo, Server } from '@modelcontextprotocol/server';
import { AbortReasons, Connection, type TrellisServer } from '@trellis/server';
import { AnswerStream } from '../direct/answer-stream.js';
import { takesFastPath } from '../direct/eligibility.js';
import { serveFastCall } from '../direct/serve.js';

/**
 * Serves a 2026-07-28 `tools/call` on the fast path if the one rule
 * (`direct/eligibility.ts`) accepts it: the request is its own owner (a
 * disconnect aborts the call), answered as JSON or, once the tool reports
 * progress or logs, as an event stream. `projector` is a never-connected
 * 2026-07-28 protocol object that projects results for the era. Returns
 * false to leave the request to the SDK's handler.
 */
export function tryModernFast(
  core: TrellisServer,
  projector: () => Server,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  auth: AuthInfo | undefined,
): boolean {
  if (req.headers['mcp-method'] !== 'tools/call' || req.headers['mcp-session-id'] !== undefined) return false;
  const connection = new Connection({ transport: 'http', era: 'modern' });
  connection.protocol = projector();
  if (!takesFastPath(core, connection, body, req.headers)) return false;
  // `on`, not `once`: a response closes once, and `once` would add a wrapper per call.
  res.on('close', () => {
    if (!res.writableFinished) connection.close(new Error(AbortReasons.clientDisconnected));
  });
  serveFastCall(core, connection, body, new AnswerStream(res, body.id, core.logger), auth);
  return true;
}
