import type { IncomingHttpHeaders } from 'node:http';
import {
  CLIENT_CAPABILITIES_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCRequest,
} from '@modelcontextprotocol/server';
import { LOG_SEVERITY, type Connection, type TrellisServer } from '@trellis/server';

/** The 2026-07-28 revision served on the fast path; anything else goes to the SDK. */
export const MODERN_REVISION = '2026-07-28';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The one rule for which `tools/call` a transport may hand to the pipeline
 * itself instead of through the SDK's dispatch, shared by stdio and both HTTP
 * eras. Everything else goes to the SDK, which answers it (protocol errors,
 * handshakes, every other method). A call takes the fast path when:
 * - the connection's era is pinned by the SDK (older protocol: the handshake
 *   is done; 2026-07-28 on stdio: the SDK has served a request there), it is
 *   still open, and no call with the same id is in flight on it;
 * - the message is a well-formed, non-task `tools/call` (object arguments and `_meta`);
 * - on 2026-07-28: a complete envelope for exactly that revision, a valid log
 *   level if any, and no multi-round-trip input (`inputResponses`, `requestState`);
 *   on the older protocol: no envelope;
 * - the tool is not `interactive` (it may ask the client, which only the SDK's
 *   path carries) and mirrors no arguments into `Mcp-Param-*` headers;
 * - on HTTP (`headers` given): the client accepts both answer forms, and the
 *   MCP headers agree with the body (2026-07-28: `MCP-Protocol-Version`,
 *   `Mcp-Method`, `Mcp-Name`, no session; older: a supported version if any).
 */
export function takesFastPath(
  core: TrellisServer,
  connection: Connection,
  message: unknown,
  headers?: IncomingHttpHeaders,
): message is JSONRPCRequest {
  if (!isPlainObject(message) || message.method !== 'tools/call' || message.jsonrpc !== '2.0') return false;
  const id = message.id;
  if (typeof id !== 'string' && typeof id !== 'number') return false;
  const params = message.params;
  if (!isPlainObject(params) || typeof params.name !== 'string' || 'task' in params) return false;
  if (
    (params.arguments !== undefined && !isPlainObject(params.arguments)) ||
    (params._meta !== undefined && !isPlainObject(params._meta))
  )
    return false;
  if (!pinned(connection) || connection.has(id)) return false;
  const name = params.name;
  if (core.tools.isInteractive(name) || core.tools.declaresHeaders(name)) return false;
  const meta = params._meta as Record<string, unknown> | undefined;
  if (connection.era === 'legacy') {
    if (meta && PROTOCOL_VERSION_META_KEY in meta) return false;
  } else {
    if (meta?.[PROTOCOL_VERSION_META_KEY] !== MODERN_REVISION || !isPlainObject(meta[CLIENT_CAPABILITIES_META_KEY]))
      return false;
    if ('inputResponses' in params || 'requestState' in params) return false;
    const level = meta[LOG_LEVEL_META_KEY];
    if (level !== undefined && !(typeof level === 'string' && level in LOG_SEVERITY)) return false;
  }
  return headers === undefined || httpHeadersAgree(headers, connection, name);
}

function pinned(connection: Connection): boolean {
  if (connection.closed || connection.protocol === undefined) return false;
  if (connection.era === 'legacy')
    return (connection.clientCapabilities ?? connection.protocol.getClientCapabilities()) !== undefined;
  // A 2026-07-28 stdio connection is pinned once the SDK served a request on it (a discovery probe does not pin).
  return connection.era === 'modern' && (connection.transport === 'http' || connection.served);
}

function httpHeadersAgree(headers: IncomingHttpHeaders, connection: Connection, name: string): boolean {
  const accept = headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return false;
  const version = headers['mcp-protocol-version'];
  if (connection.era === 'legacy')
    return version === undefined || (typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version));
  return (
    version === MODERN_REVISION &&
    headers['mcp-method'] === 'tools/call' &&
    headers['mcp-name'] === name &&
    headers['mcp-session-id'] === undefined
  );
}
