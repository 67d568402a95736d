// Baseline: SDK v2 (@modelcontextprotocol/server 2.4.0 + @modelcontextprotocol/node 2.1.2) with sessions.
//   node baselines/sdk-v2-sessions.mjs --stdio     serveStdio (either protocol era; a new McpServer per connection)
//   node baselines/sdk-v2-sessions.mjs --port 0    NodeStreamableHTTPServerTransport + McpServer per session (older protocol)
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { isInitializeRequest } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { abortableSleep, installStatsSignal, listen, parseArgs, readJson } from './common.mjs';
import { makeV2Server } from './sdk-v2-tools.mjs';

installStatsSignal();
const { stdio, port } = parseArgs();
if (stdio) {
  serveStdio(() => makeV2Server(abortableSleep));
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
        transport = new NodeStreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sid) => sessions.set(sid, transport),
        });
        transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
        await makeV2Server(abortableSleep).connect(transport);
      }
      await transport.handleRequest(req, res, body);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    }
  });
  listen(http, port, 'sdk-v2-sessions');
}
