import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connectBundle, startHttpBundle } from '@trellis/testing/apps';
import { afterAll, describe, expect, it } from 'vitest';
import { BUNDLE, SERVER_ENV } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'trellis-telemetry-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const hook = pathToFileURL(join(import.meta.dirname, 'fixtures', 'module-log.mjs')).href;

/** Serves tools/list over stdio from the bundle and returns every module URL the process resolved or read as a script. */
async function modulesLoaded(name: string, env: Record<string, string>): Promise<string[]> {
  const log = join(work, `${name}.log`);
  const client = await connectBundle({
    bundle: BUNDLE,
    transport: 'stdio',
    client: 'v2',
    env: { ...SERVER_ENV, ...env, NODE_OPTIONS: `--import=${hook}`, MODULE_LOG: log },
  });
  try {
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  } finally {
    await client.close();
  }
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

describe('telemetry in the bundle', () => {
  it('never loads the OpenTelemetry SDK when telemetry is off, and loads it (stdout still clean) when on', async () => {
    const off = await modulesLoaded('off', {});
    expect(off.some((url) => url.endsWith('/dist/main.js'))).toBe(true);
    expect(off.filter((url) => /\/chunk-runtime-[^/]*\.c?js$/.test(url))).toEqual([]);

    const on = await modulesLoaded('on', { METRICS: 'on', METRICS_PORT: '0' });
    expect(on.filter((url) => /\/chunk-runtime-[^/]*\.c?js$/.test(url))).toHaveLength(1);

    // Traces on, with either context manager (TELEMETRY_CONTEXT), start and serve from the bundle.
    for (const mode of ['request', 'async'])
      await modulesLoaded(`traces-${mode}`, {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces',
        TELEMETRY_CONTEXT: mode,
      });
  });

  it('serves /metrics and /status beside /mcp over HTTP with METRICS=on', async () => {
    const app = await startHttpBundle({ bundle: BUNDLE, env: { ...SERVER_ENV, METRICS: 'on' } });
    try {
      const origin = new URL(app.url).origin;
      const client = await connectBundle({ url: app.url, transport: 'http', client: 'v2-modern' });
      await client.callTool({ name: 'add_numbers', arguments: { a: 1, b: 2 } });
      await client.close();
      const metrics = await (await fetch(`${origin}/metrics`)).text();
      expect(metrics).toMatch(/^trellis_calls_total\{gen_ai_tool_name="add_numbers",trellis_outcome="ok"\} 1$/m);
      expect(metrics).toMatch(/^# TYPE mcp_server_operation_duration histogram$/m);
      const page = await fetch(`${origin}/status`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('trellis-reference');
      expect((await fetch(`${origin}/status/uplot.js`)).headers.get('content-type')).toContain('javascript');
    } finally {
      await app.stop();
    }
  });
});
