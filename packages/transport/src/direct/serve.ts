import {
  SERVER_INFO_META_KEY,
  type AuthInfo,
  type JSONRPCMessage,
  type JSONRPCRequest,
} from '@modelcontextprotocol/server';
import {
  ErrorCodes,
  httpStatusOfHandlerError,
  serveToolCall,
  type Connection,
  type ReplyChannel,
  type ToolCallRequest,
  type TrellisServer,
} from '@trellis/server';
import { isPlainObject } from './eligibility.js';

const RESERVED = 'io.modelcontextprotocol/';

/** The answer to a fast-path call, encoded from the pipeline's outcome; none when the call's owner gave it up. */
export interface FastAnswer {
  message: JSONRPCMessage | undefined;
  /** The HTTP status of the answer on 2026-07-28 HTTP (200, or 400 for a missing client capability). */
  status: number;
}

/**
 * Serves a `tools/call` that `takesFastPath` accepted: translates the parsed
 * message into the pipeline's request value, records it on its connection,
 * runs it through the one pipeline, and encodes the outcome as the SDK would
 * (results projected for the era; 2026-07-28 results carry `resultType` and
 * the server's identity; protocol errors as JSON-RPC errors). `send` carries
 * what flows back during the call (progress, logs).
 */
export async function serveFastCall(
  core: TrellisServer,
  connection: Connection,
  message: JSONRPCRequest,
  send: (message: JSONRPCMessage) => void | Promise<void>,
  auth?: AuthInfo,
): Promise<FastAnswer> {
  const params = message.params as {
    name: string;
    arguments?: Record<string, unknown>;
    _meta?: Record<string, unknown>;
  };
  const era = connection.era ?? 'legacy';
  // Held for the call: the connection may drop its protocol object if it closes meanwhile.
  const protocol = connection.protocol!;
  let meta = params._meta;
  let envelope: Record<string, unknown> | undefined;
  if (meta && era === 'modern') {
    // As the SDK does: the reserved envelope keys are lifted out of the `_meta` handlers see.
    const raw = meta;
    meta = {};
    envelope = {};
    for (const key in raw) (key.startsWith(RESERVED) ? envelope : meta)[key] = raw[key];
  }
  const tracked = connection.track(message.id);
  let outcome;
  try {
    const call: ToolCallRequest = {
      id: message.id,
      method: 'tools/call',
      target: params.name,
      params: params as Record<string, unknown>,
      arguments: params.arguments,
      meta,
      envelope,
      era,
      connection,
      auth,
      signal: tracked.signal,
    };
    outcome = await serveToolCall(core, call, new SendChannel(send));
  } finally {
    tracked.done();
  }
  // A call its owner gave up (client cancel, disconnect, closed connection) gets no answer, as on the SDK's path.
  if (tracked.signal.aborted) return { message: undefined, status: 202 };
  switch (outcome.kind) {
    case 'result': {
      const projected = protocol.projectCallToolResult(
        outcome.result,
        core.tools.describe(params.name)?.outputSchema as Record<string, unknown> | undefined,
      ) as Record<string, unknown>;
      return {
        message: {
          jsonrpc: '2.0',
          id: message.id,
          result: era === 'modern' ? encodeModern(projected, core) : projected,
        } as JSONRPCMessage,
        status: 200,
      };
    }
    case 'task':
      // The call became a task (the Tasks extension, 2026-07-28 only): the flat CreateTaskResult.
      return {
        message: { jsonrpc: '2.0', id: message.id, result: encodeModern(outcome.result, core) } as JSONRPCMessage,
        status: 200,
      };
    case 'input_required':
      // Only interactive tools may answer input_required, and they never take the fast path (the pipeline turns it into an isError).
      return {
        message: {
          jsonrpc: '2.0',
          id: message.id,
          error: { code: ErrorCodes.InternalError, message: 'Internal error' },
        },
        status: 200,
      };
    case 'error':
      return {
        message: {
          jsonrpc: '2.0',
          id: message.id,
          error: {
            code: outcome.code,
            message: outcome.message,
            ...(outcome.data !== undefined && { data: outcome.data }),
          },
        },
        status: era === 'modern' ? httpStatusOfHandlerError(outcome.code) : 200,
      };
  }
}

/** What flows back during a fast-path call goes to `send`: an object with a method, no closure per call. */
class SendChannel implements ReplyChannel {
  constructor(private readonly send: (message: JSONRPCMessage) => void | Promise<void>) {}

  async notify(notification: { method: string; params?: Record<string, unknown> }): Promise<void> {
    await this.send({ jsonrpc: '2.0', ...notification } as JSONRPCMessage);
  }
}

/** A 2026-07-28 answer as the SDK encodes it: its kind, and who answered. */
function encodeModern(result: Record<string, unknown>, core: TrellisServer): Record<string, unknown> {
  const meta = isPlainObject(result._meta) ? result._meta : undefined;
  return {
    ...result,
    resultType: result.resultType === 'task' ? 'task' : 'complete',
    _meta: { ...meta, [SERVER_INFO_META_KEY]: core.serverInfo },
  };
}
