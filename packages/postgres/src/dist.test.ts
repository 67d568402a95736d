import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as source from './index.js';

// The exports map is the contract: check what a consumer outside the workspace gets, once built.
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: { '.': { types: string; default: string } };
};
const entry = new URL(`../${pkg.exports['.'].default}`, import.meta.url);

describe.skipIf(!existsSync(entry))('the built package (dist/)', () => {
  it('exports exactly the names of src/index.ts, with its types alongside', async () => {
    expect(existsSync(new URL(`../${pkg.exports['.'].types}`, import.meta.url))).toBe(true);
    const built = (await import(entry.href)) as Record<string, unknown>;
    expect(Object.keys(built).sort()).toEqual(Object.keys(source).sort());
  });

  it('builds the plugin and quotes identifiers', async () => {
    const built = (await import(entry.href)) as typeof source;
    expect(built.postgres().name).toBe('postgres');
    expect(built.quoteIdent('a"b')).toBe('"a""b"');
    expect(built.tableResourceUri('my schema', 't')).toBe('postgres://schema/my%20schema/t');
  });
});
