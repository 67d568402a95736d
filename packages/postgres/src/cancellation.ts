import { PostgresError } from './errors.js';

/** How long a cancelled statement may take to stop before its connection is given up. */
const SETTLE_AFTER_CANCEL_MS = 5_000;

/** Waits for `work`; once `signal` aborts, waits a little longer for the cancelled statement, then gives up. */
export function settleOrGiveUp<T>(work: Promise<T>, signal: AbortSignal, onGiveUp: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      timer = setTimeout(() => {
        onGiveUp();
        reject(signal.reason);
      }, SETTLE_AFTER_CANCEL_MS);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    });
  });
}

/** The error of a call whose signal aborted, saying why. */
export function cancelled(signal: AbortSignal, error: unknown): PostgresError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error && reason.message ? reason.message : 'the call was cancelled';
  return new PostgresError('QUERY_CANCELLED', `The statement was cancelled on the database: ${why}.`, { cause: error });
}
