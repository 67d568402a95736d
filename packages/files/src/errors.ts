/**
 * Why the files plugin could not start:
 * - `NO_ROOTS`: no directory was configured (`FILES_ROOT` empty).
 * - `ROOT_INVALID`: a configured root does not exist or is not a directory.
 */
export type FilesErrorCode = 'NO_ROOTS' | 'ROOT_INVALID';

/**
 * A start-up problem of the files plugin, naming the variable to fix; it stays local.
 * @example if (error instanceof FilesError && error.code === 'ROOT_INVALID') { … }
 */
export class FilesError extends Error {
  constructor(
    readonly code: FilesErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FilesError';
  }
}
