import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { bundleEnv } from './process.js';

/**
 * Which official client: `v1` is `@modelcontextprotocol/sdk` 1.x (2025
 * handshake), `v2` is `@modelcontextprotocol/client` with the 2025 handshake,
 * `v2-modern` the same client pinned to the 2026-07-28 protocol.
 */
export type ClientKind = 'v1' | 'v2' | 'v2-modern';

/** Every kind, for `it.each` / `describe.each`. */
export const CLIENT_KINDS: readonly ClientKind[] = ['v1', 'v2', 'v2-modern'];

export interface ConnectBundleOptions {
  transport: 'stdio' | 'http';
  client: ClientKind;
  /** stdio: the app's `dist/main.js`, spawned with this Node. */
  bundle?: string;
  /** http: the MCP endpoint (see `startHttpBundle`). */
  url?: string;
  /** stdio: added to `bundleEnv()`; nothing else from this process reaches the app. */
  env?: Record<string, string>;
  /** stdio: the working directory of the app. */
  cwd?: string;
  /** stdio: command-line flags after the bundle. */
  args?: string[];
}

/** A content block, as far as tests read it. */
export interface ContentBlock {
  type: string;
  text?: string;
  [key: string]: unknown;
}

export interface ToolCallResult {
  content?: ContentBlock[];
  structuredContent?: unknown;
  isError?: boolean;
}

export interface ResourceContents {
  uri: string;
  mimeType?: string;
  text?: string;
  blob?: string;
}

/** What both SDK lines' clients offer, as far as app tests use it. */
export interface AppClient {
  listTools(): Promise<{
    tools: {
      name: string;
      description?: string;
      inputSchema: Record<string, unknown>;
      outputSchema?: Record<string, unknown>;
    }[];
  }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<ToolCallResult>;
  listResources(): Promise<{ resources: { uri: string; name: string; mimeType?: string }[] }>;
  readResource(params: { uri: string }): Promise<{ contents: ResourceContents[] }>;
  getPrompt(params: {
    name: string;
    arguments?: Record<string, string>;
  }): Promise<{ messages: { role: string; content: ContentBlock }[] }>;
  complete(params: {
    ref: { type: 'ref/prompt'; name: string } | { type: 'ref/resource'; uri: string };
    argument: { name: string; value: string };
  }): Promise<{ completion: { values: string[]; total?: number; hasMore?: boolean } }>;
}

export interface BundleConnection extends AppClient {
  readonly kind: ClientKind;
  readonly transport: 'stdio' | 'http';
  /** stdio: what the app wrote to stderr (the last 20 000 characters); http: always ''. */
  output(): string;
  /** Closes the client; over stdio that ends the app process too. */
  close(): Promise<void>;
}

/** The methods of either SDK's `Client` this module calls. */
interface SdkClient extends AppClient {
  connect(transport: unknown): Promise<void>;
  close(): Promise<void>;
}

const CLIENT_INFO = { name: 'trellis-app-test', version: '0.0.0' };

function makeClient(kind: ClientKind): SdkClient {
  if (kind === 'v1') return new ClientV1(CLIENT_INFO) as unknown as SdkClient;
  const options = kind === 'v2-modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' as const } } } : {};
  return new ClientV2(CLIENT_INFO, options) as unknown as SdkClient;
}

function validate(options: ConnectBundleOptions): void {
  if (!options || (options.transport !== 'stdio' && options.transport !== 'http')) {
    throw new TypeError(
      `connectBundle: option "transport" must be 'stdio' or 'http', got ${String(options?.transport)}`,
    );
  }
  if (options.client !== 'v1' && options.client !== 'v2' && options.client !== 'v2-modern') {
    throw new TypeError(
      `connectBundle: option "client" must be 'v1', 'v2' or 'v2-modern', got ${String(options.client)}`,
    );
  }
  if (options.transport === 'stdio' && !options.bundle)
    throw new TypeError('connectBundle: option "bundle" (the path of dist/main.js) is required over stdio');
  if (options.transport === 'http' && !options.url)
    throw new TypeError('connectBundle: option "url" (the MCP endpoint) is required over HTTP');
}

/**
 * Connects one of the official clients to an app bundle: over stdio it spawns
 * `node <bundle>` itself; over HTTP it connects to a running app's URL.
 * @example
 * const app = await connectBundle({ bundle: BUNDLE, transport: 'stdio', client: 'v2-modern' });
 * try { expect((await app.listTools()).tools).not.toEqual([]); } finally { await app.close(); }
 */
export async function connectBundle(options: ConnectBundleOptions): Promise<BundleConnection> {
  validate(options);
  const client = makeClient(options.client);
  let log = '';
  let transport: unknown;
  if (options.transport === 'http') {
    const url = new URL(options.url!);
    transport = options.client === 'v1' ? new HttpV1(url) : new HttpV2(url);
  } else {
    const params = {
      command: process.execPath,
      args: [options.bundle!, ...(options.args ?? [])],
      env: bundleEnv(options.env),
      ...(options.cwd && { cwd: options.cwd }),
      stderr: 'pipe' as const,
    };
    const stdio = options.client === 'v1' ? new StdioV1(params) : new StdioV2(params);
    stdio.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-20_000);
    });
    transport = stdio;
  }
  try {
    await client.connect(transport);
  } catch (error) {
    await client.close().catch(() => undefined);
    const detail = log ? `\n--- app stderr ---\n${log}` : '';
    throw new Error(
      `connectBundle (${options.client} over ${options.transport}): ${(error as Error).message}${detail}`,
      { cause: error },
    );
  }
  return {
    kind: options.client,
    transport: options.transport,
    listTools: () => client.listTools(),
    callTool: (params) => client.callTool(params),
    listResources: () => client.listResources(),
    readResource: (params) => client.readResource(params),
    getPrompt: (params) => client.getPrompt(params),
    complete: (params) => client.complete(params),
    output: () => log,
    close: () => client.close(),
  };
}
