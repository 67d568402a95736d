// The built site (docs/dist, made by the build target this test depends on): every guide is there, no link is
// broken, and the start page opens in headless Chromium without a script error.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { chromiumLaunchOptions } from '../../tools/chromium.mjs';
import { checkLinks } from '../check/links.js';
import { docsDir, guidePages } from '../check/code-blocks.js';

const site = join(docsDir, 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** The site served as a static host would serve it, on 127.0.0.1 (browsers restrict what file: pages may load). */
async function serveSite(): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
      /^(\.\.[/\\])+/,
      '',
    );
    const file = join(site, path.endsWith('/') ? `${path}index.html` : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

describe('docs site', () => {
  it('was built', () => expect(existsSync(join(site, 'index.html'))).toBe(true));

  it('has a page for every guide and for every documented package', () => {
    const html = readFileSync(join(site, 'index.html'), 'utf8');
    for (const page of guidePages().filter((file) => !file.endsWith('index.md'))) {
      const title = readFileSync(page, 'utf8').match(/^# (.+)$/m)?.[1];
      expect(title, page).toBeDefined();
    }
    const navigation = readFileSync(join(site, 'assets', 'navigation.js'), 'utf8');
    expect(navigation.length).toBeGreaterThan(100);
    for (const name of ['@trellis/server', '@trellis/transport', '@trellis/concurrency', '@trellis/resources/files']) {
      expect(html.includes(name) || existsSync(join(site, 'modules', `${name.replace(/[@/]/g, '_')}.html`)), name).toBe(
        true,
      );
    }
  });

  it('has no broken links', () => {
    const report = checkLinks(site);
    expect(report.pages).toBeGreaterThan(50);
    expect(report.checked).toBeGreaterThan(1000);
    expect(report.broken).toEqual([]);
  });

  it('opens its start page in headless Chromium', async () => {
    const { url, server } = await serveSite();
    try {
      const browser = await chromium.launch(await chromiumLaunchOptions());
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        page.on('console', (message) => {
          // Failed requests are checked one by one below (a browser asks for /favicon.ico, which the site has not).
          if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
            errors.push(message.text());
        });
        const failed: string[] = [];
        page.on('response', (response) => {
          if (response.status() >= 400 && !response.url().endsWith('/favicon.ico'))
            failed.push(`${response.status()} ${response.url()}`);
        });
        await page.goto(url, { waitUntil: 'load' });
        expect(await page.title()).toContain('Trellis');
        await expect.poll(() => page.locator('h1').first().textContent()).toContain('Trellis');
        // The side navigation ("Loading..." in the HTML) is built by the site's script from its data file.
        const navigation = page.locator('#tsd-nav-container');
        await expect
          .poll(() => navigation.getByRole('link', { name: 'Getting started' }).count(), { timeout: 15_000 })
          .toBeGreaterThan(0);
        expect(await navigation.getByRole('link', { name: '@trellis/server' }).count()).toBeGreaterThan(0);
        expect(await navigation.textContent()).not.toContain('Loading...');
        expect(errors).toEqual([]);
        expect(failed).toEqual([]);
      } finally {
        await browser.close();
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
