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
  res.once('close', () => {
    if (!res.writableFinished) connection.close(new Error(AbortReasons.clientDisconnected));
  });
  const stream = new AnswerStream(res);
  void serveFastCall(core, connection, body, stream.event, auth).then(
    (answer) => stream.finish(answer.message, answer.status),
    (error: unknown) => {
      core.logger.error({ err: error }, 'fast tool call failed');
      res.destroy();
    },
  );
  return true;
}
