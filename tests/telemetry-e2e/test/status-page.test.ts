/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServer, definePlugin, ToolError, type TrellisServer } from '@trellis/server';
import { connectInProcess, type InProcessConnection } from '@trellis/testing';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { telemetry, type TelemetryRuntime } from '@trellis/telemetry';
import { chromiumLaunchOptions } from './test-chromium.js';

const SCREENSHOT_DIR = new URL('../reports/', import.meta.url);

const traffic = () =>
  definePlugin({
    name: 'traffic',
    setup(scope) {
      scope.tools.add({
        name: 'lookup',
        description: 'Takes a few milliseconds',
        input: z.object({ ms: z.number() }),
        handler: async ({ ms }) => {
          await sleep(ms);
          return 'found';
        },
      });
      scope.tools.add({
        name: 'flaky',
        description: 'Fails',
        handler: () => {
          throw new ToolError('not today');
        },
      });
    },
  });

describe('/status in headless Chromium', () => {
  let server: TrellisServer;
  let runtime: TelemetryRuntime | undefined;
  let browser: Browser;
  let connection: InProcessConnection;

  beforeAll(async () => {
    server = createServer({
      name: 'status-demo',
      version: '0.0.1',
      plugins: [telemetry({ serviceName: 'status-demo', onStart: (r) => (runtime = r) }), traffic()],
      configSources: { argv: [], envFiles: [], env: { METRICS: 'on', METRICS_PORT: '0', LOG_LEVEL: 'silent' } },
    });
    await server.start();
    connection = await connectInProcess(server, { era: 'modern' });
    browser = await chromium.launch(await chromiumLaunchOptions());
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await connection?.close();
    await server?.close({ graceMs: 1_000 });
  });

  it('draws live charts from the server’s own metrics, requests nothing from anywhere else, and fits a phone', async () => {
    const metricsUrl = runtime?.metricsUrl;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const origin = new URL(metricsUrl!).origin;
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const consoleErrors: string[] = [];
    page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
    page.on('pageerror', (error) => consoleErrors.push(error.message));

    // Traffic while the page watches: successes of varying latency and failures.
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        await connection.client.callTool({ name: 'lookup', arguments: { ms: 2 + (i % 5) * 8 } });
        if (i % 4 === 0) await connection.client.callTool({ name: 'flaky' });
      }
    })();
    try {
      const response = await page.goto(`${origin}/status`);
      expect(response?.status()).toBe(200);
      const rate = page.locator('[data-chart="rate"]');
      await expect
        .poll(async () => Number(await rate.getAttribute('data-updates')), { timeout: 20_000 })
        .toBeGreaterThanOrEqual(2);
      const canvas = page.locator('[data-chart="latency"] canvas');
      const firstDrawing = await canvas.evaluate((c) => (c as HTMLCanvasElement).toDataURL());
      const firstPoints = Number(await rate.getAttribute('data-points'));
      await expect
        .poll(async () => Number(await rate.getAttribute('data-updates')), { timeout: 20_000 })
        .toBeGreaterThanOrEqual(5);

      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: new URL('status-page.png', SCREENSHOT_DIR).pathname, fullPage: true });
      const wide = await page.evaluate(() =>
        [...document.querySelectorAll('body *')]
          .filter((e) => e.getBoundingClientRect().right > 391)
          .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
      );
      expect({ wide, consoleErrors }).toEqual({ wide: [], consoleErrors: [] });

      // The charts hold more points than before, rates above zero, and the drawing changed.
      expect(Number(await rate.getAttribute('data-points'))).toBeGreaterThan(firstPoints);
      expect(Number(await rate.getAttribute('data-last'))).toBeGreaterThan(0);
      expect(Number(await page.locator('[data-chart="latency"]').getAttribute('data-points'))).toBeGreaterThan(0);
      expect(await canvas.evaluate((c) => (c as HTMLCanvasElement).toDataURL())).not.toBe(firstDrawing);
      await expect.poll(() => page.locator('#tools tbody tr').count()).toBe(2);
      expect(await page.locator('#summary').textContent()).toMatch(/operations, \d+ failed/);
      // Readable on a phone: nothing wider than the screen.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    } finally {
      stop = true;
      await load;
      await page.close();
    }
    expect(consoleErrors).toEqual([]);
    expect(requested.length).toBeGreaterThan(3);
    expect(requested.filter((url) => !url.startsWith(`${origin}/`))).toEqual([]);
  }, 90_000);
});
