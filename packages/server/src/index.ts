export {
  acceptedContent,
  inputRequired,
  inputResponse,
  isInputRequiredResult,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
} from '@modelcontextprotocol/server';
export { audio, embeddedResource, image, resourceLink, text, ToolError } from '@trellis/tools';
export type { ProtocolEra, RequestContext } from './context.js';
export { coreConfigSchema } from './core-config.js';
export type { CoreConfig } from './core-config.js';
export { StartupError } from './errors.js';
export type { StartupErrorCode } from './errors.js';
export { createLogger } from './logging.js';
export type { Logger, LoggerOptions, LogLevel } from './logging.js';
export { MiddlewareError, runMiddleware } from './middleware.js';
export type { Middleware, Operation, OperationContext } from './middleware.js';
export { definePlugin, mount } from './plugin.js';
export type { AnyPlugin, Plugin, PluginScope, ReadyState } from './plugin.js';
export { createServer, TrellisServer } from './server.js';
export type { CloseOptions, Readiness, ServerChange } from './server.js';
export { changeOfEvent, legacyChangeNotification, type ChangeNotification } from './changes.js';
export type { CreateServerOptions, ServerLimits } from './server-options.js';
export { serviceKey } from './services.js';
export {
  CoreServices,
  type SharedSessionRecord,
  type SharedSessionState,
  type SharedSessionStore,
  type SharedSubscriptions,
  type StreamPosition,
} from './seams.js';
export type { ServiceKey } from './services.js';
export { AbortReasons, Connection, ShutdownCalls } from './connection.js';
export { principalOf } from './principal.js';
export type { TransportKind } from './connection.js';
export { ErrorCodes, httpStatusOfHandlerError } from './error-codes.js';
export type { ErrorCode } from './error-codes.js';
export { serveToolCall, serveToolCallInto } from './pipeline.js';
export type {
  ObservedMethod,
  OperationEnd,
  OperationObserver,
  OperationWatch,
  OperationRequest,
  OutcomeSink,
  ReplyChannel,
  RequestObservation,
  ServedOperation,
  ToolCallOutcome,
  ToolCallRequest,
} from './pipeline.js';
export { LOG_SEVERITY } from './request-context.js';
export type { TaskOptions } from './task-calls.js';
export type { TaskChange } from '@trellis/tasks';
export type { PluginWorkerPool, PluginWorkerRunOptions, PluginWorkersOptions } from './workers.js';
