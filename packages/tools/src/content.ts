import type {
  AudioContent,
  EmbeddedResource,
  ImageContent,
  ResourceLink,
  TextContent,
} from '@modelcontextprotocol/server';

/** A text content block. */
export function text(value: string): TextContent {
  return { type: 'text', text: value };
}

/** An image content block; `data` is base64 (a Buffer is encoded for you). */
export function image(data: string | Uint8Array, mimeType: string): ImageContent {
  return { type: 'image', data: toBase64(data), mimeType };
}

/** An audio content block; `data` is base64 (a Buffer is encoded for you). */
export function audio(data: string | Uint8Array, mimeType: string): AudioContent {
  return { type: 'audio', data: toBase64(data), mimeType };
}

/**
 * A resource embedded in a result: text when `content` is a string, a base64 blob otherwise.
 * @example embeddedResource('test://doc', 'hello', 'text/plain')
 */
export function embeddedResource(uri: string, content: string | Uint8Array, mimeType: string): EmbeddedResource {
  return typeof content === 'string'
    ? { type: 'resource', resource: { uri, mimeType, text: content } }
    : { type: 'resource', resource: { uri, mimeType, blob: toBase64(content) } };
}

/** A link to a resource the client may read later. */
export function resourceLink(
  uri: string,
  name: string,
  extra: Omit<ResourceLink, 'type' | 'uri' | 'name'> = {},
): ResourceLink {
  return { type: 'resource_link', uri, name, ...extra };
}

function toBase64(data: string | Uint8Array): string {
  return typeof data === 'string' ? data : Buffer.from(data).toString('base64');
}
