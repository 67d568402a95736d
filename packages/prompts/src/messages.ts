import type { PromptMessage, Role } from '@modelcontextprotocol/server';
import { embeddedResource, image, text } from '@trellis/tools';

/** What one prompt message carries: text, image, audio, an embedded resource or a resource link. */
export type PromptContent = PromptMessage['content'];

/**
 * A message from the user: a string becomes a text block.
 * @example user(`Review this diff:\n${diff}`)
 */
export function user(content: string | PromptContent): PromptMessage {
  return { role: 'user', content: typeof content === 'string' ? text(content) : content };
}

/**
 * A message from the assistant, to prime the conversation.
 * @example assistant('I will review it for correctness first.')
 */
export function assistant(content: string | PromptContent): PromptMessage {
  return { role: 'assistant', content: typeof content === 'string' ? text(content) : content };
}

/**
 * A message carrying an image; bytes are base64-encoded for you.
 * @example imageMessage(pngBytes, 'image/png')
 */
export function imageMessage(data: string | Uint8Array, mimeType: string, role: Role = 'user'): PromptMessage {
  return { role, content: image(data, mimeType) };
}

/**
 * A message embedding a resource: text when `content` is a string, a base64 blob otherwise.
 * @example resourceMessage('file:///srv/docs/guide.md', guide, 'text/markdown')
 */
export function resourceMessage(
  uri: string,
  content: string | Uint8Array,
  mimeType: string,
  role: Role = 'user',
): PromptMessage {
  return { role, content: embeddedResource(uri, content, mimeType) };
}
