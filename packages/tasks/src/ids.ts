import { randomBytes } from 'node:crypto';

/**
 * A new task id: 16 bytes from the system's CSPRNG (128 bits), base64url.
 * Without auth over HTTP the id is the only capability to a task, so it must
 * be unguessable; it also carries nothing about the server or the call.
 */
export function newTaskId(): string {
  return randomBytes(16).toString('base64url');
}
