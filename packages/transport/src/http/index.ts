export { httpConfigSchema } from './config.js';
export type { HttpConfig } from './config.js';
export { HttpConfigError, httpOptionsFromConfig, isLoopbackHost } from './options.js';
export type { HttpTelemetry, HttpTransportOptions } from './options.js';
export { createHttpTransport, MCP_PATH, serveHttp } from './transport.js';
export type { HttpTransport } from './transport.js';
