export { EXIT_BAD_CONFIG, EXIT_START_FAILED, run, transportConfigSchema } from './cli/index.js';
export type { App, RunIO, RunningApp, TransportConfig } from './cli/index.js';
export {
  createHttpTransport,
  httpConfigSchema,
  HttpConfigError,
  httpOptionsFromConfig,
  isLoopbackHost,
  MCP_PATH,
  serveHttp,
} from './http/index.js';
export type { HttpConfig, HttpTelemetry, HttpTransport, HttpTransportOptions } from './http/index.js';
export { DEFAULT_MAX_MESSAGE_BYTES, guardStdout, LineTransport, serveStdio, StdioMessageError } from './stdio/index.js';
export type {
  LineTransportOptions,
  RefusalReason,
  StdioHandle,
  StdioOptions,
  StdoutGuard,
  StdoutGuardOptions,
} from './stdio/index.js';
