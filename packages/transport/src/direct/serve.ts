import {
  SERVER_INFO_META_KEY,
  type AuthInfo,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type Server,
} from '@modelcontextprotocol/server';
import {
  ErrorCodes,
  httpStatusOfHandlerError,
  serveToolCallInto,
  type Connection,
  type OutcomeSink,
  type ProtocolEra,
  type ReplyChannel,
  type ToolCallOutcome,
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
 * Where a fast-path call's messages go: what flows back during the call
 * (`notify`: progress, logs), then its answer, or `fail` when serving it
 * failed outside the pipeline (nothing may escape as an unhandled rejection).
 * One object per call, with methods: a call in flight holds no closures for it.
 */
export interface FastCallSink extends ReplyChannel {
  answer(answer: FastAnswer): void;
  fail(error: unknown): void;
}

/**
 * Serves a `tools/call` that `takesFastPath` accepted: translates the parsed
 * message into the pipeline's request value, records it on its connection,
 * runs it through the one pipeline, and encodes the outcome as the SDK would
 * (results projected for the era; 2026-07-28 results carry `resultType` and
 * the server's identity; protocol errors as JSON-RPC errors) into `sink`.
 * Not an async function: the pipeline tells the call's `FastCall` its outcome.
 */
export function serveFastCall(
  core: TrellisServer,
  connection: Connection,
  message: JSONRPCRequest,
  sink: FastCallSink,
  auth?: AuthInfo,
): void {
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
  // The tracked signal follows shutdown too (one set entry, not a listener): the call's scope needs no combined signal of its own.
  const tracked = connection.track(message.id, core.shutdownCalls);
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
    signalFollowsShutdown: true,
  };
  const fast = new FastCall(core, protocol, message, era, tracked, sink);
  try {
    serveToolCallInto(core, call, fast, fast);
  } catch (error) {
    tracked.done();
    sink.fail(error);
  }
}

/**
 * One fast-path call between the pipeline and its sink: relays what flows
 * back during the call, and encodes the outcome into the answer. One object
 * per call with methods (the pipeline tells it the outcome): a call in flight
 * holds no closure or promise link of its own.
 */
class FastCall implements ReplyChannel, OutcomeSink {
  constructor(
    private readonly core: TrellisServer,
    private readonly protocol: Server,
    private readonly message: JSONRPCRequest,
    private readonly era: ProtocolEra,
    private readonly tracked: { readonly signal: AbortSignal; done(): void },
    private readonly sink: FastCallSink,
  ) {}

  notify(notification: { method: string; params?: Record<string, unknown> }): Promise<void> {
    return this.sink.notify(notification);
  }

  outcome(outcome: ToolCallOutcome): void {
    const { core, tracked, sink } = this;
    tracked.done();
    try {
      // Given up by its owner, not stopped by shutdown (whose reason the tracked signal carries then): no answer.
      const { signal } = tracked;
      const givenUp = signal.aborted && signal.reason !== core.shutdownSignal.reason;
      sink.answer(encodeOutcome(core, this.protocol, this.message, this.era, outcome, givenUp));
    } catch (error) {
      sink.fail(error);
    }
  }
}

/** The pipeline's outcome as the SDK would answer it. */
function encodeOutcome(
  core: TrellisServer,
  protocol: Server,
  message: JSONRPCRequest,
  era: ProtocolEra,
  outcome: ToolCallOutcome,
  givenUp: boolean,
): FastAnswer {
  // A call its owner gave up (client cancel, disconnect, closed connection) gets no answer, as on the SDK's path.
  if (givenUp) return { message: undefined, status: 202 };
  switch (outcome.kind) {
    case 'result': {
      const projected = protocol.projectCallToolResult(
        outcome.result,
        core.tools.describe((message.params as { name: string }).name)?.outputSchema as
          Record<string, unknown> | undefined,
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

/** A 2026-07-28 answer as the SDK encodes it: its kind, and who answered. */
function encodeModern(result: Record<string, unknown>, core: TrellisServer): Record<string, unknown> {
  const meta = isPlainObject(result._meta) ? result._meta : undefined;
  return {
    ...result,
    resultType: result.resultType === 'task' ? 'task' : 'complete',
    _meta: { ...meta, [SERVER_INFO_META_KEY]: core.serverInfo },
  };
}
