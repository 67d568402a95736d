import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigClashError } from './errors.js';
import { env } from './fields.js';
import { loadConfig } from './load.js';
import { mergeConfigSchemas } from './merge.js';
import { defineConfig } from './schema.js';

const server = defineConfig({
  PORT: env.port().default(3000).describe('HTTP port'),
  LOG_LEVEL: env.enum(['info', 'debug']).default('info'),
});

function clashOf(run: () => unknown): ConfigClashError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigClashError);
    return error as ConfigClashError;
  }
  throw new Error('expected a ConfigClashError');
}

describe('mergeConfigSchemas', () => {
  it('unites the owners’ fields into one typed schema and records who owns each key', () => {
    const postgres = defineConfig({ DATABASE_URL: env.url({ protocols: ['postgres'] }) });
    const { schema, owners } = mergeConfigSchemas([
      { owner: 'server', schema: server },
      { owner: 'postgres', schema: postgres },
    ]);
    expect(owners).toEqual({ PORT: ['server'], LOG_LEVEL: ['server'], DATABASE_URL: ['postgres'] });
    const config = loadConfig(schema, { argv: [], env: { DATABASE_URL: 'postgres://db/app' }, envFiles: [] });
    const url: string = config.DATABASE_URL;
    const port: number = config.PORT;
    expect([url, port]).toEqual(['postgres://db/app', 3000]);
  });

  it('shares a key declared identically by two owners (the description may differ)', () => {
    const a = defineConfig({ DATABASE_URL: env.url({ protocols: ['postgres'] }).describe('Where the data lives') });
    const b = defineConfig({ DATABASE_URL: env.url({ protocols: ['postgres'] }).describe('Database for the vectors') });
    const { owners } = mergeConfigSchemas([
      { owner: 'postgres', schema: a },
      { owner: 'pgvector', schema: b },
    ]);
    expect(owners.DATABASE_URL).toEqual(['postgres', 'pgvector']);
  });

  it.each([
    ['a different type', env.number().default(3000), 'type port vs number'],
    ['a different default', env.port().default(8080), 'default 3000 vs 8080'],
    ['a plain schema', z.number().int().default(3000), 'type port vs integer'],
    ['a different secrecy', env.port().default(3000).meta({ secret: true }), 'secret false vs true'],
    ['a different flag', env.port().default(3000).meta({ flag: '--http-port' }), 'flag --port vs --http-port'],
  ])('throws CONFIG_CLASH naming the key and both owners for %s', (_what, field, difference) => {
    const error = clashOf(() =>
      mergeConfigSchemas([
        { owner: 'server', schema: server },
        { owner: 'web', schema: defineConfig({ PORT: field }) },
      ]),
    );
    expect(error.code).toBe('CONFIG_CLASH');
    expect(error.key).toBe('PORT');
    expect(error.owners).toEqual(['server', 'web']);
    expect(error.difference).toBe(difference);
    expect(error.message).toBe(
      `config PORT is declared differently by "server" and "web" (${difference}); declare it the same way in both, or rename it in one`,
    );
  });

  it('tells apart number constraints of the same helper', () => {
    const error = clashOf(() =>
      mergeConfigSchemas([
        { owner: 'a', schema: defineConfig({ POOL: env.number({ max: 10 }) }) },
        { owner: 'b', schema: defineConfig({ POOL: env.number({ max: 20 }) }) },
      ]),
    );
    expect(error.difference).toBe('expected a number of at most 10 vs a number of at most 20');
  });

  it('tells apart constraints of plain zod schemas', () => {
    const error = clashOf(() =>
      mergeConfigSchemas([
        { owner: 'a', schema: defineConfig({ NAME: z.string().min(5) }) },
        { owner: 'b', schema: defineConfig({ NAME: z.string() }) },
      ]),
    );
    expect(error.difference).toBe('constraints differ');
  });

  it('never shows a secret default in a clash', () => {
    const error = clashOf(() =>
      mergeConfigSchemas([
        { owner: 'a', schema: defineConfig({ API_TOKEN: env.string().default('token-one') }) },
        { owner: 'b', schema: defineConfig({ API_TOKEN: env.string().default('token-two') }) },
      ]),
    );
    expect(error.message).toContain('"a" and "b"');
    expect(error.message).not.toMatch(/token-(one|two)/);
  });

  it('refuses two keys of different owners with one flag', () => {
    const error = clashOf(() =>
      mergeConfigSchemas([
        { owner: 'server', schema: server },
        { owner: 'web', schema: defineConfig({ WEB_PORT: env.port().meta({ flag: '--port' }) }) },
      ]),
    );
    expect(error.key).toBe('--port');
    expect(error.message).toContain('"server" and "web" (flag of both PORT and WEB_PORT)');
  });

  it('refuses an owner listed twice', () => {
    expect(() =>
      mergeConfigSchemas([
        { owner: 'server', schema: server },
        { owner: 'server', schema: server },
      ]),
    ).toThrow(TypeError);
  });
});
