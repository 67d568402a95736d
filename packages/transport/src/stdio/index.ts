export { DEFAULT_MAX_MESSAGE_BYTES, LineTransport, StdioMessageError } from './line-transport.js';
export type { LineTransportOptions, RefusalReason } from './line-transport.js';
export { serveStdio } from './serve.js';
export type { StdioHandle, StdioOptions } from './serve.js';
export { guardStdout } from './stdout-guard.js';
export type { StdoutGuard, StdoutGuardOptions } from './stdout-guard.js';
