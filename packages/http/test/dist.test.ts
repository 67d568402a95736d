import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type * as Source from '@trellis/http';

/** The built output is what apps bundle: check it, not only src/. */
const distEntry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const built = existsSync(distEntry);

const PUBLIC_NAMES = [
  'ConnectionFailedError',
  'DeadlineError',
  'HeadersTooLargeError',
  'HttpClientKey',
  'HttpClosedError',
  'HttpError',
  'HttpTimeoutError',
  'InvalidUrlError',
  'SsrfBlockedError',
  'TooLargeError',
  'TooManyRedirectsError',
  'UnsupportedSchemeError',
  'httpClient',
  'httpConfigSchema',
];

describe.skipIf(!built)('built package (dist/)', () => {
  it('points every target of the exports map at a file that exists', () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      exports: Record<string, Record<string, string>>;
    };
    for (const target of Object.values(manifest.exports['.']!)) {
      expect(existsSync(fileURLToPath(new URL(`../${target}`, import.meta.url))), target).toBe(true);
    }
  });

  it('exports exactly the public names, and they work', async () => {
    const dist = (await import(/* @vite-ignore */ distEntry)) as typeof Source;
    expect(Object.keys(dist).sort()).toEqual(PUBLIC_NAMES);
    expect(dist.httpClient().name).toBe('http');
    expect(dist.HttpClientKey.id).toBe('http.client');
    const error = new dist.SsrfBlockedError('http://10.0.0.1/', '10.0.0.1', '10.0.0.1', 'private (10.0.0.0/8)');
    expect(error).toBeInstanceOf(dist.HttpError);
    expect(error.code).toBe('SSRF_BLOCKED');
  });
});
