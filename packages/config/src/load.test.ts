import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { env } from './fields.js';
import { loadConfig } from './load.js';
import { defineConfig } from './schema.js';
import { configErrorOf } from './test-helpers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'trellis-config-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const schema = defineConfig({
  PORT: env.port().default(1000).describe('HTTP port'),
  HOST: env.string().default('127.0.0.1'),
});

function files(local?: string, base?: string) {
  if (local !== undefined) writeFileSync(join(dir, '.env.local'), local);
  if (base !== undefined) writeFileSync(join(dir, '.env'), base);
}

describe('precedence: flags > environment > .env.local > .env > defaults', () => {
  it('uses the default when nothing is given', () => {
    expect(loadConfig(schema, { argv: [], env: {}, cwd: dir }).PORT).toBe(1000);
  });
  it('.env beats the default', () => {
    files(undefined, 'PORT=1005\n');
    expect(loadConfig(schema, { argv: [], env: {}, cwd: dir }).PORT).toBe(1005);
  });
  it('.env.local beats .env', () => {
    files('PORT=1004\n', 'PORT=1005\n');
    expect(loadConfig(schema, { argv: [], env: {}, cwd: dir }).PORT).toBe(1004);
  });
  it('the environment beats .env.local', () => {
    files('PORT=1004\n', 'PORT=1005\n');
    expect(loadConfig(schema, { argv: [], env: { PORT: '1003' }, cwd: dir }).PORT).toBe(1003);
  });
  it('a flag beats the environment', () => {
    files('PORT=1004\n', 'PORT=1005\n');
    expect(loadConfig(schema, { argv: ['--port', '1002'], env: { PORT: '1003' }, cwd: dir }).PORT).toBe(1002);
  });
  it('decides per field', () => {
    files('HOST=local.example\n', 'PORT=1005\nHOST=base.example\n');
    expect(loadConfig(schema, { argv: [], env: {}, cwd: dir })).toEqual({ PORT: 1005, HOST: 'local.example' });
  });
  it('treats an empty value as unset at every level', () => {
    files('PORT=\n', 'PORT=1005\n');
    expect(loadConfig(schema, { argv: ['--port='], env: { PORT: '' }, cwd: dir }).PORT).toBe(1005);
  });
  it('reads the env files listed in envFiles, highest first, and skips missing ones', () => {
    writeFileSync(join(dir, 'a.env'), 'PORT=1010\n');
    writeFileSync(join(dir, 'b.env'), 'PORT=1011\nHOST=b.example\n');
    const config = loadConfig(schema, { argv: [], env: {}, cwd: dir, envFiles: ['missing.env', 'a.env', 'b.env'] });
    expect(config).toEqual({ PORT: 1010, HOST: 'b.example' });
  });
  it('reads quoted values and comments as Node does, and leaves process.env alone', () => {
    files(undefined, '# comment\nHOST="quoted host" # trailing\n');
    expect(loadConfig(schema, { argv: [], env: {}, cwd: dir }).HOST).toBe('quoted host');
    expect(process.env.HOST === 'quoted host').toBe(false);
  });
  it('names the file a bad value came from', () => {
    files(undefined, 'PORT=eighty\n');
    const error = configErrorOf(() => loadConfig(schema, { argv: [], env: {}, cwd: dir }));
    expect(error.issues[0]).toMatchObject({ key: 'PORT', source: '.env', given: '"eighty"' });
    expect(error.message).toContain('PORT (in .env): got "eighty"; expected a port number');
  });
  it('reports an env file that exists but cannot be read', () => {
    mkdirSync(join(dir, '.env'));
    const error = configErrorOf(() => loadConfig(schema, { argv: [], env: {}, cwd: dir }));
    expect(error.issues[0]).toMatchObject({ key: undefined, source: '.env' });
    expect(error.message).toMatch(/\.env: cannot read .* \(EISDIR\)/);
  });
});

describe('flags', () => {
  const flags = defineConfig({
    TRELLIS_TRANSPORT: env.enum(['stdio', 'http']).default('stdio').meta({ flag: '--transport' }),
    LOG_LEVEL: env.enum(['info', 'debug']).default('info'),
    VERBOSE: env.boolean().default(false),
    TAGS: env.list().default([]),
    OFFSET: env.number().default(0),
    NO_FLAG_SECRET: env.string().optional().meta({ flag: false }),
  });
  const load = (argv: string[]) => loadConfig(flags, { argv, env: {}, envFiles: [] });

  it('reads --name value and --name=value, with kebab-case names by default', () => {
    expect(load(['--transport', 'http', '--log-level=debug'])).toMatchObject({
      TRELLIS_TRANSPORT: 'http',
      LOG_LEVEL: 'debug',
    });
  });
  it('reads booleans as --name, --no-name and --name=value', () => {
    expect(load(['--verbose']).VERBOSE).toBe(true);
    expect(load(['--verbose', '--no-verbose']).VERBOSE).toBe(false);
    expect(load(['--verbose=off']).VERBOSE).toBe(false);
    expect(load(['--verbose', 'no', '--log-level', 'debug'])).toMatchObject({ VERBOSE: false, LOG_LEVEL: 'debug' });
  });
  it('takes a value that starts with a single dash', () => {
    expect(load(['--offset', '-5']).OFFSET).toBe(-5);
  });
  it('adds the items of a repeated list flag; other repeated flags keep the last', () => {
    expect(load(['--tags', 'a', '--tags=b,c'])).toMatchObject({ TAGS: ['a', 'b', 'c'] });
    expect(load(['--log-level', 'debug', '--log-level', 'info']).LOG_LEVEL).toBe('info');
  });
  it('ignores --help, -h and everything after --', () => {
    expect(load(['--help', '-h', '--', '--bogus', 'x']).LOG_LEVEL).toBe('info');
  });
  it('lists every unknown flag, stray argument and flag without its value at once, with a hint', () => {
    const error = configErrorOf(() => load(['--verbos', '--bogus=1', 'stray', '-x', '--no-transport', '--transport']));
    expect(error.issues.map((issue) => issue.flag)).toEqual([
      '--verbos',
      '--bogus',
      undefined,
      '-x',
      '--no-transport',
      '--transport',
    ]);
    expect(error.message).toContain('--verbos: unknown flag (did you mean --verbose?)');
    expect(error.message).toContain('argument 3 is not a --flag');
    expect(error.message).toContain('--transport (TRELLIS_TRANSPORT): missing its value; expected one of: stdio, http');
  });
  it('never shows the value given to an unknown flag or a stray argument', () => {
    const error = configErrorOf(() => load(['--api-tokn', 'sk-live-123456', 'sk-live-654321']));
    expect(error.message).not.toContain('sk-live');
    expect(JSON.stringify(error.issues)).not.toContain('sk-live');
  });
  it('gives no flag to a field declared with flag: false', () => {
    const error = configErrorOf(() => load(['--no-flag-secret', 'x']));
    expect(error.issues[0]!.message).toContain('unknown flag');
  });
  it('refuses two fields with one flag, or a key that is not an env var name', () => {
    expect(() => defineConfig({ A_B: env.string(), X: env.string().meta({ flag: 'a-b' }) })).toThrow(
      /A_B and X both use the flag --a-b/,
    );
    expect(() => defineConfig({ logLevel: env.string() })).toThrow(/UPPER_SNAKE_CASE/);
    expect(() => defineConfig({ X: env.string().meta({ flag: '--help' }) })).toThrow(TypeError);
  });
});

describe('every problem at once', () => {
  const app = defineConfig({
    PORT: env.port(),
    DATABASE_URL: env.url({ protocols: ['postgres'] }),
    API_TOKEN: env.string().min(20),
    TIMEOUT: env.duration().default(1000),
    LOG_LEVEL: env.enum(['info', 'debug']).default('info'),
  });

  it('names each bad and missing variable, what was given and what was expected', () => {
    const error = configErrorOf(() =>
      loadConfig(app, {
        argv: ['--timeout', 'soon', '--bogus'],
        env: { PORT: 'http', API_TOKEN: 'too-short-secret' },
        envFiles: [],
      }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.name).toBe('ConfigError');
    expect(error.issues.map((issue) => [issue.key, issue.source])).toEqual([
      [undefined, 'flag'],
      ['PORT', 'env'],
      ['DATABASE_URL', 'unset'],
      ['API_TOKEN', 'env'],
      ['TIMEOUT', 'flag'],
    ]);
    expect(error.message.split('\n')).toEqual([
      'Invalid configuration (5 problems):',
      '  - --bogus: unknown flag',
      '  - PORT (environment variable): got "http"; expected a port number (an integer from 0 to 65535)',
      '  - DATABASE_URL: missing; expected a URL starting with postgres:// (set DATABASE_URL or pass --database-url)',
      '  - API_TOKEN (environment variable): got [redacted]; Too small: expected string to have >=20 characters',
      '  - --timeout (TIMEOUT): got "soon"; expected a duration such as 500ms, 30s, 5m, 1h or 1d (a bare number means milliseconds)',
      'Flags win over environment variables, then .env.local, then .env, then defaults. Run with --help to list every option.',
    ]);
    expect(error.message).not.toContain('too-short-secret');
  });
  it('reports a refinement of the whole object', () => {
    const pair = defineConfig({ MIN: env.number(), MAX: env.number() }).refine((c) => c.MIN <= c.MAX, {
      message: 'MIN must not exceed MAX',
    });
    const error = configErrorOf(() => loadConfig(pair, { argv: [], env: { MIN: '5', MAX: '1' }, envFiles: [] }));
    expect(error.issues).toEqual([
      expect.objectContaining({ key: undefined, message: 'configuration: MIN must not exceed MAX' }),
    ]);
  });
  it('reports a .prefault() text that fails its own field', () => {
    const bad = defineConfig({ RETRIES: z.number().max(3).prefault(5) });
    const error = configErrorOf(() => loadConfig(bad, { argv: [], env: {}, envFiles: [] }));
    expect(error.issues[0]).toMatchObject({ key: 'RETRIES', source: 'default', given: '5' });
    expect(error.issues[0]!.message).toMatch(/^RETRIES \(its default\): got 5; /);
  });
});

describe('the result', () => {
  it('is typed, has only the schema keys, and is deeply frozen', () => {
    const config = loadConfig(defineConfig({ HOSTS: env.list(), DEBUG: env.boolean().optional() }), {
      argv: [],
      env: { HOSTS: 'a,b', OTHER: 'x' },
      envFiles: [],
    });
    const hosts: readonly string[] = config.HOSTS;
    expect(hosts).toEqual(['a', 'b']);
    expect(config).toEqual({ HOSTS: ['a', 'b'] });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.HOSTS)).toBe(true);
    expect(() => {
      (config as { DEBUG?: boolean }).DEBUG = true;
    }).toThrow(TypeError);
  });
  it('reads process values by default', () => {
    const previous = process.env.TRELLIS_CONFIG_TEST_VALUE;
    process.env.TRELLIS_CONFIG_TEST_VALUE = 'from-process';
    try {
      expect(
        loadConfig(defineConfig({ TRELLIS_CONFIG_TEST_VALUE: env.string() }), { argv: [], envFiles: [] })
          .TRELLIS_CONFIG_TEST_VALUE,
      ).toBe('from-process');
    } finally {
      if (previous === undefined) delete process.env.TRELLIS_CONFIG_TEST_VALUE;
      else process.env.TRELLIS_CONFIG_TEST_VALUE = previous;
    }
  });
});
