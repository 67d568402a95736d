// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- an ambient module declaration (`*?raw`), which an import cannot bring in
/// <reference path="../raw.d.ts" />
import type { IncomingMessage, ServerResponse } from 'node:http';
import uplotCss from 'uplot/dist/uPlot.min.css?raw';
import uplotJs from 'uplot/dist/uPlot.iife.min.js?raw';
import pageScript from './page.client.js?raw';
import pageCss from './page.css?raw';
import pageHtml from './page.html?raw';
import type { StatusSnapshot } from './snapshot.js';

/** Every asset is served by this server; the page may reach nothing else (uPlot sizes its canvases with inline styles). */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ASSETS: Record<string, { type: string; body: string }> = {
  '/status/uplot.js': { type: 'text/javascript; charset=utf-8', body: uplotJs },
  '/status/uplot.css': { type: 'text/css; charset=utf-8', body: uplotCss },
  '/status/page.js': { type: 'text/javascript; charset=utf-8', body: pageScript },
  '/status/page.css': { type: 'text/css; charset=utf-8', body: pageCss },
};

export interface StatusRouteOptions {
  title: string;
  snapshot(): Promise<StatusSnapshot>;
  onError(error: unknown): void;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Serves `/status` (the page), its assets and `/status/data` (the figures it polls); false for any other path. */
export function serveStatus(
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  options: StatusRouteOptions,
): boolean {
  if (path !== '/status' && !path.startsWith('/status/')) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res
      .writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' })
      .end('{"error":"method_not_allowed"}');
    return true;
  }
  const headers = {
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  if (path === '/status' || path === '/status/') {
    const html = pageHtml.replaceAll('{{TITLE}}', escapeHtml(options.title)).replaceAll('{{BASE}}', '/status');
    res
      .writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(req.method === 'HEAD' ? undefined : html);
    return true;
  }
  if (path === '/status/data') {
    options.snapshot().then(
      (snapshot) =>
        res
          .writeHead(200, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' })
          .end(req.method === 'HEAD' ? undefined : JSON.stringify(snapshot)),
      (error: unknown) => {
        options.onError(error);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal"}');
      },
    );
    return true;
  }
  const asset = ASSETS[path];
  if (!asset) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
    return true;
  }
  res
    .writeHead(200, { ...headers, 'content-type': asset.type, 'cache-control': 'max-age=3600' })
    .end(req.method === 'HEAD' ? undefined : asset.body);
  return true;
}
