import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { env } from './fields.js';
import { formatHelp } from './help.js';
import { loadConfig } from './load.js';
import { redact } from './redact.js';
import { defineConfig } from './schema.js';
import { isSecretKey, maskUrlPasswords } from './secrets.js';
import { configErrorOf } from './test-helpers.js';

describe('isSecretKey', () => {
  it.each([
    'API_KEY',
    'AUTH_TOKEN',
    'GITHUB_TOKEN',
    'CLIENT_SECRET',
    'DB_PASSWORD',
    'PRIVATE_KEY',
    'APIKEY',
    'ACCESSTOKEN',
    'SSH_KEYS',
    'SMTP_PASSWD',
    'AWS_CREDENTIALS',
    'apiKey',
    'key',
  ])('%s is secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });
  it.each([
    'MONKEY_COUNT',
    'KEYBOARD_LAYOUT',
    'HOCKEY_TEAM',
    'TOKENIZER_MODEL',
    'SECRETARY_NAME',
    'PASSWORDLESS_LOGIN',
    'PORT',
    'DATABASE_URL',
    'LOG_LEVEL',
  ])('%s is not', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });
});

describe('maskUrlPasswords', () => {
  it.each([
    ['postgres://user:pw@host:5432/db', 'postgres://user:***@host:5432/db'],
    ['see redis://:pw@cache:6379 and https://example.com', 'see redis://:***@cache:6379 and https://example.com'],
    ['postgres://u:p@ss/w:rd@host/db', 'postgres://u:***@host/db'],
    ['https://user@host/path', 'https://user@host/path'],
    ['not a url: a:b@c', 'not a url: a:b@c'],
  ])('%s → %s', (text, masked) => {
    expect(maskUrlPasswords(text)).toBe(masked);
  });
});

const schema = defineConfig({
  API_TOKEN: env.string().min(20),
  SIGNING: env.string().meta({ secret: true }).default('default-signing-secret'),
  KEYBOARD_LAYOUT: env.string().default('us'),
  CACHE_KEY: env.string().meta({ secret: false }).default('cache-key-name'),
  DATABASE_URL: env.url().default('postgres://app:default-pw@db/app'),
  MIRRORS: env.list(env.url()).default([]),
});

describe('redaction in every output path', () => {
  it('ConfigError: a secret given is [redacted], never quoted even in part', () => {
    const error = configErrorOf(() =>
      loadConfig(schema, {
        argv: ['--signing', 'x'],
        env: { API_TOKEN: 'sk-live-abcdef', DATABASE_URL: 'postgres://app:env-pw@db/app' },
        envFiles: [],
      }),
    );
    expect(error.issues[0]).toMatchObject({ key: 'API_TOKEN', given: '[redacted]' });
    for (const fragment of ['sk-live', 'abcdef', 'env-pw']) expect(error.message).not.toContain(fragment);
    expect(JSON.stringify(error.issues)).not.toContain('sk-live');
  });
  it('ConfigError: a URL password is masked in what was given', () => {
    const error = configErrorOf(() =>
      loadConfig(schema, {
        argv: [],
        env: { API_TOKEN: 'x'.repeat(20), MIRRORS: 'https://u:mirror-pw@m.example, nope' },
        envFiles: [],
      }),
    );
    expect(error.issues[0]).toMatchObject({ key: 'MIRRORS', given: '"https://u:***@m.example, nope"' });
    expect(error.message).not.toContain('mirror-pw');
  });
  it('ConfigError: a custom message that quotes a secret is scrubbed', () => {
    const quoting = defineConfig({
      API_TOKEN: z
        .string()
        .refine((v) => v.startsWith('sk-'), { error: (issue) => `bad token ${String(issue.input)}` }),
    });
    const error = configErrorOf(() => loadConfig(quoting, { argv: [], env: { API_TOKEN: 'pk-123456' }, envFiles: [] }));
    expect(error.message).toContain('bad token [redacted]');
    expect(error.message).not.toContain('pk-123456');
  });
  it('redact(): secrets by name and by meta, URL passwords in values and lists, unset as null', () => {
    const config = loadConfig(schema, {
      argv: [],
      env: { API_TOKEN: 'sk-live-abcdefghijklmnop', MIRRORS: 'https://u:mirror-pw@m.example' },
      envFiles: [],
    });
    expect(redact(config, schema)).toEqual({
      API_TOKEN: '[redacted]',
      SIGNING: '[redacted]',
      KEYBOARD_LAYOUT: 'us',
      CACHE_KEY: 'cache-key-name',
      DATABASE_URL: 'postgres://app:***@db/app',
      MIRRORS: ['https://u:***@m.example'],
    });
  });
  it('redact(): without a schema, by key name, and JSON-safe at any depth', () => {
    const out = redact({
      GITHUB_TOKEN: 'ghp_x',
      UNSET_TOKEN: undefined,
      NESTED: { password: 'p', when: new Date(0), big: 10n, url: new URL('https://a:b@c/') },
      PORT: 1,
    });
    expect(out).toEqual({
      GITHUB_TOKEN: '[redacted]',
      UNSET_TOKEN: null,
      NESTED: { password: '[redacted]', when: '1970-01-01T00:00:00.000Z', big: '10', url: 'https://a:***@c/' },
      PORT: 1,
    });
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });
  it('formatHelp(): secret defaults are [redacted], URL defaults masked', () => {
    const help = formatHelp({ name: 'app', schema });
    expect(help).toContain('env SIGNING (secret)');
    expect(help).toContain('default: [redacted]');
    expect(help).toContain('default: postgres://app:***@db/app');
    expect(help).toContain('default: cache-key-name');
    for (const fragment of ['default-signing-secret', 'default-pw']) expect(help).not.toContain(fragment);
  });
});
