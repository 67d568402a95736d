import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as source from './index.js';

// The exports map is the contract: check what a consumer outside the workspace gets, once built.
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: { '.': { types: string; default: string } };
};
const entry = new URL(`../${pkg.exports['.'].default}`, import.meta.url);

describe.skipIf(!existsSync(entry))('the built package (dist/)', () => {
  it('exports exactly the names of src/index.ts, with its types alongside', () => {
    expect(existsSync(new URL(`../${pkg.exports['.'].types}`, import.meta.url))).toBe(true);
    return import(entry.href).then((built: Record<string, unknown>) => {
      expect(Object.keys(built).sort()).toEqual(Object.keys(source).sort());
    });
  });

  it('loads, validates and redacts a configuration', async () => {
    const built = (await import(entry.href)) as typeof source;
    const schema = built.defineConfig({ PORT: built.env.port().default(3000), API_TOKEN: built.env.string() });
    expect(built.loadConfig(schema, { argv: ['--port', '8080'], env: { API_TOKEN: 'sk-1' }, envFiles: [] })).toEqual({
      PORT: 8080,
      API_TOKEN: 'sk-1',
    });
    expect(() => built.loadConfig(schema, { argv: [], env: { PORT: 'x' }, envFiles: [] })).toThrow(built.ConfigError);
    expect(built.redact({ API_TOKEN: 'sk-1' }, schema)).toEqual({ API_TOKEN: '[redacted]' });
  });

  it('declares the typed .meta({ secret, flag }) keys for consumers', () => {
    const types = readFileSync(new URL(`../${pkg.exports['.'].types}`, import.meta.url), 'utf8');
    expect(types).toMatch(/declare module ['"]zod['"]/);
    expect(types).toMatch(/interface GlobalMeta/);
  });
});
