import type { ReadResourceResult } from '@modelcontextprotocol/server';
import type { ResourceReturn } from './define.js';

type Contents = ReadResourceResult['contents'];

/** Turns what a read handler returned into `resources/read` contents for `uri`. */
export function toContents(uri: string, returned: ResourceReturn, mimeType: string | undefined): Contents {
  if (typeof returned === 'string') return [{ uri, mimeType: mimeType ?? 'text/plain', text: returned }];
  if (returned instanceof Uint8Array)
    return [{ uri, mimeType: mimeType ?? 'application/octet-stream', blob: toBase64(returned) }];
  if (Array.isArray(returned)) return returned;
  throw new TypeError(
    `the read handler for ${uri} returned ${typeof returned}; return a string, a Uint8Array or a contents array`,
  );
}

/** Base64 without Node's Buffer, so the package root runs on any runtime. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}
