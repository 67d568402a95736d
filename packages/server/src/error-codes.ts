/**
 * Every JSON-RPC error code Trellis answers with, by name. `docs/error-codes.md`
 * lists them with their meaning and HTTP status; a test keeps the two in step.
 * Tool failures the model should read are `isError` results, never these.
 */
export const ErrorCodes = {
  /** The message is not valid JSON. */
  ParseError: -32700,
  /** Not a valid JSON-RPC request (e.g. an oversized stdio line, a batch where none is allowed). */
  InvalidRequest: -32600,
  /** Unknown method, or a method the request's protocol revision removed (HTTP 404 on 2026-07-28). */
  MethodNotFound: -32601,
  /** Bad params: an unknown tool, prompt or resource, a malformed envelope, a tampered `requestState`. */
  InvalidParams: -32602,
  /** A bug on the server's side; the details are in its log, never in the answer. */
  InternalError: -32603,
  /** The transport refused the request: bad or missing session header, shutting down, busy, forbidden Origin/Host, wrong content type, body too large. */
  TransportRejected: -32000,
  /** The `Mcp-Session-Id` names no session this principal owns (HTTP 404). */
  SessionNotFound: -32001,
  /** `Mcp-Method`, `Mcp-Name` or `Mcp-Param-*` headers disagree with the body (HTTP 400). */
  HeaderMismatch: -32020,
  /** The request needs a client capability its envelope did not declare (HTTP 400). */
  MissingRequiredClientCapability: -32021,
  /** The requested protocol revision is not supported; `data.supported` lists those that are (HTTP 400). */
  UnsupportedProtocolVersion: -32022,
  /** Older protocol: the tool needs the user to open a URL first (answered by the SDK). */
  UrlElicitationRequired: -32042,
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * The HTTP status of a JSON-RPC error answered by a request handler on
 * 2026-07-28 HTTP: in-band errors are 200 (the error is the payload), except
 * a missing client capability, whose 400 the specification mandates (the SDK
 * answers the same; see its `httpStatusForErrorCode`).
 */
export function httpStatusOfHandlerError(code: number): number {
  return code === ErrorCodes.MissingRequiredClientCapability ? 400 : 200;
}
