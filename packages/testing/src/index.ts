import { PassThrough } from 'node:stream';
import { Client, type ClientOptions } from '@modelcontextprotocol/client';
import type { TrellisServer } from '@trellis/server';
import { serveStdio } from '@trellis/transport';
import { StreamClientTransport } from './stream-client-transport.js';

export interface InProcessOptions {
  /** `legacy` speaks the 2025 handshake; `modern` pins the 2026-07-28 protocol. */
  era?: 'legacy' | 'modern';
  capabilities?: ClientOptions['capabilities'];
  clientInfo?: { name: string; version: string };
  /**
   * Serve plain tool calls on the fast path, as production does. Default true,
   * unless the environment sets `TRELLIS_FAST_PATH=off` (the behaviour suite
   * runs once each way to prove both paths answer alike).
   */
  fastPath?: boolean;
}

export interface InProcessConnection {
  client: Client;
  close(): Promise<void>;
}

/**
 * Connects a real SDK client to a started Trellis server in-process, in one
 * line. The server side is Trellis's own stdio serving over an in-memory pair
 * of streams — the production path, fast path included (the SDK picks the era
 * from the first message).
 * @example
 * const { client, close } = await connectInProcess(server, { era: 'modern' });
 * const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } });
 * await close();
 */
export async function connectInProcess(
  server: TrellisServer,
  options: InProcessOptions = {},
): Promise<InProcessConnection> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const handle = serveStdio(server, {
    input: toServer,
    output: toClient,
    stdoutGuard: false,
    transportKind: 'in-process',
    fastPath: options.fastPath ?? process.env.TRELLIS_FAST_PATH !== 'off',
  });
  const clientSide = new StreamClientTransport(toClient, toServer);
  const client = new Client(options.clientInfo ?? { name: 'trellis-test-client', version: '0.0.0' }, {
    ...(options.capabilities && { capabilities: options.capabilities }),
    ...(options.era === 'modern' && { versionNegotiation: { mode: { pin: '2026-07-28' } } }),
  });
  await client.connect(clientSide);
  return {
    client,
    async close() {
      await client.close().catch(() => undefined);
      await handle.close().catch(() => undefined);
      toServer.destroy();
      toClient.destroy();
    },
  };
}

/**
 * Connects, runs `body` with the client, and closes the connection however `body` ends.
 * @example
 * const text = await withClient(server, { era: 'modern' }, async (client) => textOf(await client.callTool({ name: 'echo', arguments: { text: 'hi' } })));
 */
export async function withClient<T>(
  server: TrellisServer,
  options: InProcessOptions,
  body: (client: Client) => Promise<T>,
): Promise<T> {
  const connection = await connectInProcess(server, options);
  try {
    return await body(connection.client);
  } finally {
    await connection.close();
  }
}

/** The text blocks of a tool result (or any result with `content`), joined by newlines. */
export function textOf(result: unknown): string {
  const content = ((result as { content?: unknown }).content ?? []) as { type?: string; text?: string }[];
  return content
    .filter((block) => block.type === 'text')
    .map((block) => block.text ?? '')
    .join('\n');
}
