// Baseline: SDK v1 (@modelcontextprotocol/sdk 1.32.2), McpServer with echo and sleep.
//   node baselines/sdk-v1.mjs --stdio          StdioServerTransport
//   node baselines/sdk-v1.mjs --port 0         Streamable HTTP, one transport + McpServer per session (node:http)
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { abortableSleep, installStatsSignal, listen, parseArgs, readJson } from './common.mjs';

function makeServer() {
  const server = new McpServer({ name: 'sdk-v1-bench', version: '0.0.0' });
  server.registerTool(
    'echo',
    { description: 'Returns the text it is given', inputSchema: { text: z.string() } },
    async ({ text }) => ({
      content: [{ type: 'text', text }],
    }),
  );
  server.registerTool(
    'sleep',
    {
      description: 'Waits for the given number of milliseconds (cancellable)',
      inputSchema: { ms: z.number().int().min(0).max(600_000) },
    },
    async ({ ms }, extra) => {
      await abortableSleep(ms, extra.signal);
      return { content: [{ type: 'text', text: `slept ${ms} ms` }] };
    },
  );
  return server;
}

installStatsSignal();
const { stdio, port } = parseArgs();
if (stdio) {
  await makeServer().connect(new StdioServerTransport());
  process.stdin.on('end', () => process.exit(0));
} else {
  const sessions = new Map();
  const http = createServer(async (req, res) => {
    try {
      if (!req.url?.startsWith('/mcp')) return void res.writeHead(404).end();
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const id = req.headers['mcp-session-id'];
      let transport = id ? sessions.get(id) : undefined;
      if (!transport) {
        if (id || !isInitializeRequest(body)) {
          res.writeHead(id ? 404 : 400, { 'content-type': 'application/json' });
          return void res.end(
            JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad session' }, id: null }),
          );
        }
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => sessions.set(sid, transport),
        });
        transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
        await makeServer().connect(transport);
      }
      await transport.handleRequest(req, res, body);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    }
  });
  listen(http, port, 'sdk-v1');
}
