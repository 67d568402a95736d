/** Codes of the errors that stop a server from starting or closing cleanly. */
export type StartupErrorCode =
  | 'PLUGIN_DUPLICATE'
  | 'PLUGIN_DEPENDENCY_MISSING'
  | 'PLUGIN_DEPENDENCY_CYCLE'
  | 'PLUGIN_SETUP_FAILED'
  | 'PLUGIN_SETUP_TIMEOUT'
  | 'NAME_CLASH'
  | 'SERVICE_MISSING'
  | 'SERVICE_DUPLICATE'
  | 'WORKER_NOT_FOUND'
  | 'SERVER_STATE';

/**
 * Why the server could not start (or a plugin misused its scope). The message
 * names the plugin — and, for clashes, both plugins.
 */
export class StartupError extends Error {
  constructor(
    readonly code: StartupErrorCode,
    message: string,
    readonly plugin?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StartupError';
  }
}
