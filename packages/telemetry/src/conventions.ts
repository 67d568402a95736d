/**
 * Names from the OpenTelemetry semantic conventions for MCP (GenAI conventions,
 * `mcp.md`, status Development) and Trellis's own instruments beside them.
 */

/** `mcp.server.operation.duration` and `mcp.server.session.duration` use these (seconds). */
export const DURATION_BUCKETS_S = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

export const METRIC_OPERATION_DURATION = 'mcp.server.operation.duration';
export const METRIC_SESSION_DURATION = 'mcp.server.session.duration';
/** Trellis: calls being served now (tools/call), by tool. */
export const METRIC_CALLS_IN_FLIGHT = 'trellis.calls.in_flight';
/** Trellis: tool results by how they ended (`trellis.outcome`: ok, tool_error, timeout, busy, cancelled, invalid_arguments, protocol_error). */
export const METRIC_CALL_OUTCOMES = 'trellis.calls';
/** Trellis: tasks live now (`trellis.task.status`: working, input_required). */
export const METRIC_TASKS_LIVE = 'trellis.tasks.live';
/** Trellis: older-protocol sessions and stdio connections open now. */
export const METRIC_SESSIONS_OPEN = 'trellis.sessions.open';

export const ATTR = {
  method: 'mcp.method.name',
  toolName: 'gen_ai.tool.name',
  promptName: 'gen_ai.prompt.name',
  operationName: 'gen_ai.operation.name',
  requestId: 'jsonrpc.request.id',
  resourceUri: 'mcp.resource.uri',
  protocolVersion: 'mcp.protocol.version',
  sessionId: 'mcp.session.id',
  networkTransport: 'network.transport',
  networkProtocol: 'network.protocol.name',
  errorType: 'error.type',
  statusCode: 'rpc.response.status_code',
  outcome: 'trellis.outcome',
  taskId: 'trellis.task.id',
  taskStatus: 'trellis.task.status',
  /** `subscriptions/listen`: the change kinds the filter asks for. */
  subscriptionFilter: 'trellis.subscription.filter',
  /** `subscriptions/listen`: how many resources the filter watches. */
  subscribedResources: 'trellis.subscription.resource_count',
} as const;

/** `error.type` of a tool result with `isError: true`, as the conventions say. */
export const TOOL_ERROR = 'tool_error';
