import { extname } from 'node:path';

/** Extension → MIME type; `true` marks types whose content is text. */
const TYPES: Record<string, [mime: string, text: boolean]> = {
  '.txt': ['text/plain', true],
  '.log': ['text/plain', true],
  '.md': ['text/markdown', true],
  '.markdown': ['text/markdown', true],
  '.html': ['text/html', true],
  '.htm': ['text/html', true],
  '.css': ['text/css', true],
  '.csv': ['text/csv', true],
  '.tsv': ['text/tab-separated-values', true],
  '.js': ['text/javascript', true],
  '.mjs': ['text/javascript', true],
  '.cjs': ['text/javascript', true],
  '.ts': ['text/typescript', true],
  '.mts': ['text/typescript', true],
  '.cts': ['text/typescript', true],
  '.tsx': ['text/typescript', true],
  '.jsx': ['text/javascript', true],
  '.py': ['text/x-python', true],
  '.sh': ['text/x-shellscript', true],
  '.sql': ['application/sql', true],
  '.json': ['application/json', true],
  '.xml': ['application/xml', true],
  '.yaml': ['application/yaml', true],
  '.yml': ['application/yaml', true],
  '.toml': ['application/toml', true],
  '.svg': ['image/svg+xml', true],
  '.png': ['image/png', false],
  '.jpg': ['image/jpeg', false],
  '.jpeg': ['image/jpeg', false],
  '.gif': ['image/gif', false],
  '.webp': ['image/webp', false],
  '.ico': ['image/x-icon', false],
  '.bmp': ['image/bmp', false],
  '.avif': ['image/avif', false],
  '.pdf': ['application/pdf', false],
  '.wav': ['audio/wav', false],
  '.mp3': ['audio/mpeg', false],
  '.ogg': ['audio/ogg', false],
  '.flac': ['audio/flac', false],
  '.mp4': ['video/mp4', false],
  '.webm': ['video/webm', false],
  '.zip': ['application/zip', false],
  '.gz': ['application/gzip', false],
  '.tar': ['application/x-tar', false],
  '.wasm': ['application/wasm', false],
  '.woff': ['font/woff', false],
  '.woff2': ['font/woff2', false],
};

export interface FileType {
  /** The MIME type, or undefined for an extension this map does not know. */
  mime: string | undefined;
  /** Whether the type is text (then a UTF-8 check still decides). */
  text: boolean;
}

export function fileType(path: string): FileType {
  const known = TYPES[extname(path).toLowerCase()];
  return known ? { mime: known[0], text: known[1] } : { mime: undefined, text: true };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The bytes as text when they are valid UTF-8 without NUL bytes, else
 * undefined. NUL is legal UTF-8 but marks a binary file in practice.
 */
export function asText(bytes: Uint8Array): string | undefined {
  if (bytes.includes(0)) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
