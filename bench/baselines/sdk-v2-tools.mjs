// The two tools on SDK v2's McpServer, shared by both v2 baselines.
import { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

export function makeV2Server(abortableSleep) {
  const server = new McpServer({ name: 'sdk-v2-bench', version: '0.0.0' });
  server.registerTool(
    'echo',
    { description: 'Returns the text it is given', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({
      content: [{ type: 'text', text }],
    }),
  );
  server.registerTool(
    'sleep',
    {
      description: 'Waits for the given number of milliseconds (cancellable)',
      inputSchema: z.object({ ms: z.number().int().min(0).max(600_000) }),
    },
    async ({ ms }, ctx) => {
      await abortableSleep(ms, ctx.mcpReq.signal);
      return { content: [{ type: 'text', text: `slept ${ms} ms` }] };
    },
  );
  return server;
}
