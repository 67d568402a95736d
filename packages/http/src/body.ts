import type { Readable } from 'node:stream';

/** What was read of a body: at most the cap, and whether more was left unread. */
export interface CappedBody {
  bytes: Uint8Array;
  truncated: boolean;
}

/**
 * Reads a body up to `maxBytes` and stops there: the rest is never buffered (the stream is
 * destroyed, which closes the connection). `truncated` is true only when a byte past the cap
 * was actually seen, so a body of exactly `maxBytes` is complete.
 */
export async function readCapped(body: Readable, maxBytes: number): Promise<CappedBody> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    const room = maxBytes - size;
    if (chunk.byteLength > room) {
      if (room > 0) chunks.push(chunk.subarray(0, room));
      size += Math.max(room, 0);
      truncated = true;
      break; // leaving the loop destroys the stream
    }
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  if (truncated && !body.destroyed) body.destroy();
  return { bytes: Buffer.concat(chunks, size), truncated };
}

const TEXTUAL =
  /^(text\/|application\/(?:[\w.+-]*\+)?(?:json|xml|javascript|ecmascript|x-www-form-urlencoded|yaml|x-yaml|toml|graphql|sql|csv)\b|image\/svg\+xml)/i;

/** A body as text, or a reason it is not shown (binary). */
export type DecodedBody = { kind: 'text'; text: string } | { kind: 'binary'; mediaType: string };

/**
 * Decodes a body as text when its media type is textual (or absent and the bytes are valid
 * UTF-8 without NUL), in the charset the `content-type` names (default UTF-8).
 */
export function decodeBody(bytes: Uint8Array, contentType: string | undefined): DecodedBody {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const charset = /;\s*charset="?([\w.:-]+)"?/i.exec(contentType ?? '')?.[1];
  if (mediaType === '' ? looksLikeUtf8Text(bytes) : TEXTUAL.test(mediaType)) {
    return { kind: 'text', text: textDecoder(charset).decode(bytes) };
  }
  return { kind: 'binary', mediaType: mediaType || 'application/octet-stream' };
}

/** A decoder for the named charset; UTF-8 when the name is unknown. */
function textDecoder(charset: string | undefined): InstanceType<typeof TextDecoder> {
  try {
    return new TextDecoder(charset ?? 'utf-8');
  } catch {
    return new TextDecoder('utf-8');
  }
}

function looksLikeUtf8Text(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false;
  try {
    // A cut in the middle of a character at the very end is fine: the body may be truncated.
    new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, Math.max(0, bytes.length - 3)));
    return true;
  } catch {
    return false;
  }
}
