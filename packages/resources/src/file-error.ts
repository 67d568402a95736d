/**
 * Why the file provider refused a URI:
 * - `BAD_PATH`: the URI is malformed or tries a trick (`..`, encoded `/` or `.`, double encoding, NUL, `?`/`#`).
 * - `OUTSIDE_ROOT`: the path, or the target of a symlink on it, is not inside a configured root.
 * - `NOT_FOUND`: nothing exists at that path.
 * - `NOT_A_FILE`: the path names a directory, FIFO, socket or device.
 * - `TOO_LARGE`: the file is larger than the provider's `maxBytes`.
 */
export type FileAccessCode = 'BAD_PATH' | 'OUTSIDE_ROOT' | 'NOT_FOUND' | 'NOT_A_FILE' | 'TOO_LARGE';

/**
 * A refusal of the file provider. Messages name the problem and the requested
 * URI, never a path outside the roots (not even a symlink's target).
 * `ResourceRegistry.read` answers `NOT_FOUND` with the SDK's
 * `ResourceNotFoundError` and every other code with an invalid-params error
 * whose data is `{ uri, reason: code }`.
 * @example
 * if (error instanceof FileAccessError && error.code === 'TOO_LARGE') { … }
 */
export class FileAccessError extends Error {
  constructor(
    readonly code: FileAccessCode,
    message: string,
    /** The URI the client asked for. */
    readonly uri: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FileAccessError';
  }
}
