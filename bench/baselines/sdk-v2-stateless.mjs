// Baseline: SDK v2 stateless default — createMcpHandler(factory) builds a new McpServer per HTTP request
// (2026-07-28 natively; older clients through its default `legacy: 'stateless'`), on node:http via toNodeHandler.
//   node baselines/sdk-v2-stateless.mjs --port 0
import { createServer } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { abortableSleep, installStatsSignal, listen, parseArgs } from './common.mjs';
import { makeV2Server } from './sdk-v2-tools.mjs';

installStatsSignal();
const { port } = parseArgs();
const handler = toNodeHandler(createMcpHandler(() => makeV2Server(abortableSleep)));
const http = createServer((req, res) => {
  if (!req.url?.startsWith('/mcp')) return void res.writeHead(404).end();
  void handler(req, res);
});
listen(http, port, 'sdk-v2-stateless');
