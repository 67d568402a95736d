import type { IncomingHttpHeaders } from 'node:http';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What `checkMcpParamHeaders` needs to know about tools. */
export type ToolSchemaLookup = (name: string) => { inputSchema?: { properties?: Record<string, unknown> } } | undefined;

/**
 * SEP-2243: a `tools/call` whose tool declares `x-mcp-header: NAME` on an
 * argument must mirror that argument in the `Mcp-Param-NAME` header. The SDK
 * checks this only for `McpServer` products, so the front door does it for
 * Trellis tools. Returns a JSON-RPC error body (HTTP 400, -32020) or undefined.
 */
export function checkMcpParamHeaders(
  headers: IncomingHttpHeaders,
  body: unknown,
  lookup: ToolSchemaLookup,
): { id: unknown; message: string; header: string } | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const request = body as {
    id?: unknown;
    method?: unknown;
    params?: { name?: unknown; arguments?: Record<string, unknown> };
  };
  if (request.method !== 'tools/call' || typeof request.params?.name !== 'string') return undefined;
  const properties = lookup(request.params.name)?.inputSchema?.properties;
  if (!properties) return undefined;
  const args = request.params.arguments ?? {};
  for (const [property, schema] of Object.entries(properties)) {
    const name = (schema as Record<string, unknown> | null)?.['x-mcp-header'];
    if (typeof name !== 'string') continue;
    const header = `Mcp-Param-${name}`;
    const fail = (why: string) => ({ id: request.id, message: `Bad Request: ${header} header ${why}`, header });
    const raw = headers[`mcp-param-${name.toLowerCase()}`];
    const value = args[property];
    if (raw === undefined) {
      if (value !== undefined && value !== null) return fail('is missing but the argument is present');
      continue;
    }
    let text = (Array.isArray(raw) ? raw.join(', ') : raw).trim();
    const encoded = /^=\?base64\?(.*)\?=$/.exec(text);
    if (encoded) {
      if (!BASE64.test(encoded[1]!)) return fail('is not valid Base64');
      text = Buffer.from(encoded[1]!, 'base64').toString('utf8');
    }
    if (value === undefined || text !== String(value)) return fail('does not match the request body');
  }
  return undefined;
}
