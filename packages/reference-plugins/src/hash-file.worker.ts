// Runs on a worker thread (declared in package.json under "trellis.workers"): the CPU and the
// blocking reads of hashing a large file stay off the event loop that serves requests.
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';

/** A file the main thread opened, and checked to be under the roots, by descriptor. */
export interface HashJob {
  fd: number;
}

export interface HashResult {
  sha256: string;
  bytes: number;
}

const CHUNK = 1024 * 1024;

/** SHA-256 of the whole file behind `fd`, read from its start (the descriptor is shared by the process's threads). */
export default function hashFile({ fd }: HashJob): HashResult {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK);
  let bytes = 0;
  for (;;) {
    const read = readSync(fd, buffer, 0, CHUNK, bytes);
    if (read === 0) break;
    hash.update(buffer.subarray(0, read));
    bytes += read;
  }
  return { sha256: hash.digest('hex'), bytes };
}
