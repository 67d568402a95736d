import type { IncomingMessage, ServerResponse } from 'node:http';

/** A JSON-RPC error body for answers given before the SDK sees the request. */
export function rpcError(code: number, message: string, id: unknown = null, data?: unknown): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    error: { code, message, ...(data !== undefined && { data }) },
    id: id ?? null,
  });
}

/** Writes a complete JSON answer. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export type BodyResult = { ok: true; text: string } | { ok: false; status: 413 } | { ok: false; status: 400 };

/** How much of a refused body is read and thrown away so that the client can read the refusal. */
export interface DrainLimits {
  /** Most bytes discarded after the refusal (a larger declared Content-Length is not waited for). */
  maxBytes: number;
  /** Longest time spent discarding. */
  maxMs: number;
}

/**
 * Answers a request whose body will not be used (too large) in a way the
 * client can read. The answer goes out at once with `Connection: close`, but
 * the socket stays open while the rest of the body is read and discarded, up
 * to `limits`: a server that closes while the client is still writing makes
 * the client (Node's fetch, hence the SDK clients) fail with EPIPE or a reset
 * before it reads the response. Past the limits the connection is cut.
 * Resolves when the exchange is over.
 */
export function answerAndDrain(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: string,
  limits: DrainLimits,
): Promise<void> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (res.headersSent) {
    res.end();
    return Promise.resolve();
  }
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  if (req.complete || declared > limits.maxBytes) {
    // Nothing left to read, or more than the budget: closing now is all that is left.
    res.end(body);
    return Promise.resolve();
  }
  res.write(body);
  return new Promise((resolve) => {
    let drained = 0;
    const finish = (cut: boolean) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onCut).off('close', onClose);
      res.end();
      if (cut) req.socket.destroy();
      resolve();
    };
    const onData = (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > limits.maxBytes) finish(true);
    };
    const onEnd = () => finish(false);
    const onCut = () => finish(true);
    const onClose = () => finish(false);
    const timer = setTimeout(onCut, limits.maxMs);
    timer.unref();
    req.on('data', onData).on('end', onEnd).on('error', onCut).on('close', onClose);
    req.resume();
  });
}

/**
 * Reads a request body up to `max` bytes. A declared or actual size past the
 * limit stops reading at once: nothing beyond `max` is ever buffered.
 */
export function readBody(req: IncomingMessage, max: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) return Promise.resolve({ ok: false, status: 413 });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyResult) => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onError);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.pause();
        finish({ ok: false, status: 413 });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () =>
      finish({
        ok: true,
        text: chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'),
      });
    const onError = () => finish({ ok: false, status: 400 });
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onError);
  });
}

/** The Node request's headers as web `Headers` (repeated headers kept). */
export function webHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return headers;
}

/**
 * Pumps a web `Response` into a Node response: SSE-safe (each chunk is written
 * as it comes, with backpressure) and cancelled when the client goes away.
 */
export async function writeWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 1) headers['set-cookie'] = cookies;
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  if (headers['content-type']?.includes('text/event-stream')) res.flushHeaders();
  const reader = response.body.getReader();
  const onClose = () => {
    reader.cancel().catch(() => undefined);
  };
  res.once('close', onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value))
        await new Promise<void>((resolve) => {
          const wake = () => {
            res.off('drain', wake).off('close', wake);
            resolve();
          };
          res.on('drain', wake).on('close', wake);
        });
      if (res.destroyed) break;
    }
  } catch {
    // The client went away or the stream was cancelled: nothing more to write.
  } finally {
    res.off('close', onClose);
    res.end();
  }
}
