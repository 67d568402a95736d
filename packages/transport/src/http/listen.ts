import type { ServerResponse } from 'node:http';
import { ErrorCodes, type TrellisServer } from '@trellis/server';
import { writeWebResponse } from './wire.js';

const LISTEN = 'subscriptions/listen';
const PROTOCOL_VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';

/** A 2026-07-28 `subscriptions/listen` request. */
export interface ListenRequest {
  readonly id: string | number;
  readonly params: Readonly<Record<string, unknown>> | undefined;
}

/** The `subscriptions/listen` request `body` is, if it is one. */
export function listenRequestOf(body: unknown): ListenRequest | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const message = body as { method?: unknown; id?: unknown; params?: unknown };
  if (message.method !== LISTEN) return undefined;
  if (typeof message.id !== 'string' && typeof message.id !== 'number') return undefined;
  const params =
    typeof message.params === 'object' && message.params !== null
      ? (message.params as Record<string, unknown>)
      : undefined;
  return { id: message.id, params };
}

/**
 * Writes the SDK entry's answer to a `subscriptions/listen` request (the
 * entry serves it before any handler, so no observer would see it) under the
 * server's operation observers: taken as it arrives, ended when its event
 * stream closes (the client going away, a cancel, shutdown) — the conventions'
 * server span covers a request until its response is done, and a listen's
 * response is the stream. A refusal (bad filter, subscription limit) ends it
 * as the JSON-RPC error it answered.
 */
export async function writeObservedListen(
  server: TrellisServer,
  listen: ListenRequest,
  res: ServerResponse,
  answer: () => Promise<Response>,
): Promise<void> {
  const meta = listen.params?._meta as Record<string, unknown> | undefined;
  const version = meta?.[PROTOCOL_VERSION_KEY];
  const observation = server.observeRequest({
    method: LISTEN,
    target: undefined,
    requestId: listen.id,
    era: 'modern',
    sessionId: undefined,
    transport: 'http',
    protocolVersion: typeof version === 'string' ? version : undefined,
    meta,
    params: listen.params,
  });
  if (!observation) return writeWebResponse(res, await answer());
  try {
    const response = await observation.run(answer);
    if (response.headers.get('content-type')?.includes('text/event-stream')) {
      await writeWebResponse(res, response);
      observation.end({ outcome: 'result' });
      return;
    }
    const refusal = (await response
      .clone()
      .json()
      .catch(() => undefined)) as { error?: { code?: unknown; message?: unknown } } | undefined;
    await writeWebResponse(res, response);
    const code = refusal?.error?.code;
    observation.end(
      typeof code === 'number'
        ? {
            outcome: 'error',
            code,
            error: Object.assign(new Error(String(refusal!.error!.message)), { code }),
          }
        : { outcome: 'error', code: ErrorCodes.InternalError },
    );
  } catch (error) {
    observation.end({ outcome: 'error', code: ErrorCodes.InternalError, error });
    throw error;
  }
}
