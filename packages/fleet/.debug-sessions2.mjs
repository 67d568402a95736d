import { startFleet } from '../../tools/fleet.mjs';
const fleet = await startFleet({ bundle: '/work/wt/sessions/apps/conformance/dist/main.js', env: {} });
try {
  const h = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  for (let round = 0; round < 3; round++) {
  const r = await fetch(fleet.url, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }) });
  await r.text();
  const sid = r.headers.get('mcp-session-id');
  const hh = { ...h, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
  await (await fetch(fleet.url, { method: 'POST', headers: hh, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  const rs = await Promise.all([1, 2, 3].map((i) => fetch(fleet.url, { method: 'POST', headers: hh, body: JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/list' }) })));
  for (const x of rs) console.log(x.status, (await x.text()).slice(0, 200));
  }
} finally { await fleet.stop(); }
