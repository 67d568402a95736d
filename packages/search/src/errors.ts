/**
 * Why the search plugin could not build its index:
 * - `NO_PATHS`: no directory to index was configured (`SEARCH_PATHS` empty).
 * - `PATH_MISSING`: a configured directory does not exist or is not a directory.
 */
export type SearchErrorCode = 'NO_PATHS' | 'PATH_MISSING';

/**
 * A start-up problem of the search plugin; it stays local (the server reports it and exits).
 * @example if (error instanceof SearchError && error.code === 'PATH_MISSING') { … }
 */
export class SearchError extends Error {
  constructor(
    readonly code: SearchErrorCode,
    message: string,
    /** The directory at fault, when there is one. */
    readonly path?: string,
  ) {
    super(message);
    this.name = 'SearchError';
  }
}
