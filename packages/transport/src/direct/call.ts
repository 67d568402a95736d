import {
  CLIENT_CAPABILITIES_META_KEY,
  isInputRequiredResult,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  SERVER_INFO_META_KEY,
  type AuthInfo,
  type JSONRPCRequest,
  type LoggingLevel,
  type Notification,
  type Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { runToolCall, type ProtocolEra, type TrellisServer } from '@trellis/server';

/**
 * Tool calls served straight from a transport to the tool registry, skipping
 * the SDK's generic per-message work (schema-validating every request and
 * result, building its handler context, encoding through its codec). The same
 * `runToolCall` the SDK's dispatch uses runs; only the well-formed common case
 * takes this path, and anything unusual is left to the SDK, which answers it.
 */

/** The 2026-07-28 revision served directly; anything else goes to the SDK. */
const MODERN = '2026-07-28';
const RESERVED = 'io.modelcontextprotocol/';
export const LOG_SEVERITY: Record<LoggingLevel, number> = { debug: 0, info: 1, notice: 2, warning: 3, error: 4, critical: 5, alert: 6, emergency: 7 };

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether `message` is a `tools/call` this path may serve on a connection of
 * `era`: well-formed, not task-augmented, and (2026-07-28) with a complete
 * envelope for exactly that revision and no multi-round-trip input.
 */
export function isDirectToolCall(message: unknown, era: ProtocolEra): message is JSONRPCRequest {
  if (!isPlainObject(message) || message.method !== 'tools/call' || message.jsonrpc !== '2.0') return false;
  const id = message.id;
  if (typeof id !== 'string' && typeof id !== 'number') return false;
  const params = message.params;
  if (!isPlainObject(params) || typeof params.name !== 'string' || 'task' in params) return false;
  if ((params.arguments !== undefined && !isPlainObject(params.arguments)) || (params._meta !== undefined && !isPlainObject(params._meta))) return false;
  if (era === 'legacy') return true;
  const meta = params._meta as Record<string, unknown> | undefined;
  if (meta?.[PROTOCOL_VERSION_META_KEY] !== MODERN || !isPlainObject(meta[CLIENT_CAPABILITIES_META_KEY])) return false;
  if ('inputResponses' in params || 'requestState' in params) return false;
  const level = meta[LOG_LEVEL_META_KEY];
  return level === undefined || (typeof level === 'string' && level in LOG_SEVERITY);
}

/**
 * Thrown by a server-to-client request the direct path cannot carry: the call
 * is handed to the SDK. A protocol error so that the tool registry passes it
 * through instead of turning it into an `isError` result.
 */
export class HandOver extends ProtocolError {
  constructor() {
    super(-32603, 'handed over to the SDK');
  }
}

export interface DirectCallChannel {
  /** Sends a notification related to the call (progress, a log line). */
  notify(notification: Notification): Promise<void>;
  /** Sends a log notification if the client wants this level (older protocol: the session's level). */
  log(level: LoggingLevel, data: unknown, logger?: string): Promise<void>;
  /** Server-to-client requests (older protocol, push style): 'protocol' sends them through the SDK object; 'handover' gives the call to the SDK. */
  push: 'protocol' | 'handover';
  sessionId?: string;
  /** Validated authentication of the HTTP request (reaches handlers as `ctx.auth`). */
  authInfo?: AuthInfo;
}

export type DirectOutcome =
  | { kind: 'result'; result: Record<string, unknown> }
  | { kind: 'error'; error: { code: number; message: string; data?: unknown } }
  | { kind: 'handover' }
  | { kind: 'aborted' };

/** Runs one tool call directly and says how it ended; the caller writes the answer. */
export async function runDirectCall(
  core: TrellisServer,
  protocol: Server,
  era: ProtocolEra,
  message: JSONRPCRequest,
  signal: AbortSignal,
  channel: DirectCallChannel,
): Promise<DirectOutcome> {
  try {
    const result = await runToolCall({ core, protocol, era }, message.params as never, directContext(protocol, era, message, signal, channel));
    if (signal.aborted) return { kind: 'aborted' };
    // Multi-round-trip answers need the SDK's checks (and, on older sessions, its shim).
    if (isInputRequiredResult(result)) return { kind: 'handover' };
    const plain = result as Record<string, unknown>;
    return { kind: 'result', result: era === 'modern' ? encodeModern(plain, core) : plain };
  } catch (error) {
    if (error instanceof HandOver) return { kind: 'handover' };
    if (signal.aborted) return { kind: 'aborted' };
    if (error instanceof ProtocolError) return { kind: 'error', error: { code: error.code, message: error.message, ...(error.data !== undefined && { data: error.data }) } };
    core.logger.error({ err: error }, 'tools/call failed');
    return { kind: 'error', error: { code: -32603, message: 'Internal error' } };
  }
}

/** A 2026-07-28 answer as the SDK encodes it: its kind, and who answered. */
function encodeModern(result: Record<string, unknown>, core: TrellisServer): Record<string, unknown> {
  const meta = isPlainObject(result._meta) ? result._meta : undefined;
  return { ...result, resultType: 'complete', _meta: { ...meta, [SERVER_INFO_META_KEY]: core.serverInfo } };
}

/** The slice of the SDK's handler context that Trellis reads. */
function directContext(protocol: Server, era: ProtocolEra, message: JSONRPCRequest, signal: AbortSignal, channel: DirectCallChannel): ServerContext {
  const raw = (message.params as { _meta?: Record<string, unknown> })._meta;
  // As the SDK does: the reserved envelope keys are lifted out of the `_meta` handlers see.
  let meta = raw;
  let envelope: Record<string, unknown> | undefined;
  if (raw && era === 'modern') {
    meta = {};
    envelope = {};
    for (const [key, value] of Object.entries(raw)) (key.startsWith(RESERVED) ? envelope : meta)[key] = value;
  }
  const logLevel = envelope?.[LOG_LEVEL_META_KEY] as LoggingLevel | undefined;
  const push = <T>(send: () => Promise<T>): Promise<T> => (channel.push === 'protocol' ? send() : Promise.reject(new HandOver()));
  return {
    sessionId: channel.sessionId,
    ...(channel.authInfo && { http: { authInfo: channel.authInfo } }),
    mcpReq: {
      id: message.id,
      method: message.method,
      _meta: meta,
      ...(envelope && { envelope }),
      requestState: () => undefined,
      signal,
      send: ((request: { method: string; params?: Record<string, unknown> }, options?: unknown) =>
        push(() => protocol.request(request as never, options as never))) as never,
      notify: (notification) => channel.notify(notification),
      log: (level, data, logger) => {
        if (era === 'legacy') return channel.log(level, data, logger);
        // 2026-07-28: only when the request asked for logs, at or above its level.
        if (logLevel === undefined || LOG_SEVERITY[level] < LOG_SEVERITY[logLevel]) return Promise.resolve();
        return channel.notify({ method: 'notifications/message', params: { level, data, ...(logger !== undefined && { logger }) } });
      },
      elicitInput: (request, options) => push(() => protocol.elicitInput(request, options)),
      requestSampling: (request, options) => push(() => protocol.createMessage(request, options)),
    },
  } as ServerContext;
}
