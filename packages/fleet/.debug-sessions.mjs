import { startFleet } from '../../tools/fleet.mjs';
import pg from 'pg';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
const fleet = await startFleet({ bundle: '/work/wt/sessions/apps/conformance/dist/main.js', env: { SESSION_IDLE_TIMEOUT_MS: '4000', LOG_LEVEL: 'debug' } });
try {
  const c = new Client({ name: 'x', version: '1' }); const t = new StreamableHTTPClientTransport(new URL(fleet.url));
  await c.connect(t); await c.listTools(); await c.listTools(); await c.listTools();
  const db = new pg.Client({ connectionString: fleet.databaseUrl }); await db.connect();
  console.log((await db.query('select id, instance_id, last_activity from trellis_fleet.sessions')).rows);
  await t.terminateSession();
  await new Promise((r) => setTimeout(r, 500));
  console.log((await db.query('select id from trellis_fleet.sessions')).rows);
  console.log((await db.query('select * from trellis_fleet.outbox')).rows);
  await db.end();
  console.log(fleet.output().split('\n').filter((l) => /session|warn|error/i.test(l)).slice(-40).join('\n'));
} finally { await fleet.stop(); }
