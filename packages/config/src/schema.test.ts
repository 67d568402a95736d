import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { env } from './fields.js';
import { defaultFlag, defineConfig, describeFields } from './schema.js';

describe('field metadata', () => {
  it('reads description, default, secret and flag through wrappers, the outer declaration winning', () => {
    const schema = defineConfig({
      TRELLIS_TRANSPORT: env
        .enum(['stdio', 'http'])
        .meta({ flag: 'inner' })
        .default('stdio')
        .meta({ flag: '--transport', description: 'How to serve' }),
      API_KEY: env.string().optional(),
      PUBLIC_KEY: env.string().meta({ secret: false }).optional(),
      PLAIN: z.string(),
    });
    expect(
      describeFields(schema).map(({ key, flag, secret, description, type, hasDefault, defaultValue, required }) => ({
        key,
        flag,
        secret,
        description,
        type,
        hasDefault,
        defaultValue,
        required,
      })),
    ).toEqual([
      {
        key: 'TRELLIS_TRANSPORT',
        flag: '--transport',
        secret: false,
        description: 'How to serve',
        type: 'enum',
        hasDefault: true,
        defaultValue: 'stdio',
        required: false,
      },
      {
        key: 'API_KEY',
        flag: '--api-key',
        secret: true,
        description: undefined,
        type: 'string',
        hasDefault: false,
        defaultValue: undefined,
        required: false,
      },
      {
        key: 'PUBLIC_KEY',
        flag: '--public-key',
        secret: false,
        description: undefined,
        type: 'string',
        hasDefault: false,
        defaultValue: undefined,
        required: false,
      },
      {
        key: 'PLAIN',
        flag: '--plain',
        secret: false,
        description: undefined,
        type: 'string',
        hasDefault: false,
        defaultValue: undefined,
        required: true,
      },
    ]);
  });

  it('keeps a helper’s kind through .refine(), .meta() and .describe()', () => {
    const schema = defineConfig({
      PORT: env
        .port()
        .refine((port) => port !== 22)
        .describe('Not SSH'),
    });
    expect(describeFields(schema)[0]).toMatchObject({ type: 'port', description: 'Not SSH' });
  });

  it('derives the default flag from the key in kebab-case', () => {
    expect(defaultFlag('LOG_LEVEL')).toBe('--log-level');
    expect(defaultFlag('A__B_')).toBe('--a-b');
  });

  it('types and checks the meta keys', () => {
    // @ts-expect-error secret is a boolean
    const bad = env.string().meta({ secret: 'yes' });
    expect(() => defineConfig({ NAME: bad })).toThrow(/secret must be a boolean/);
  });

  it('accepts a plain z.object() as a schema', () => {
    expect(describeFields(z.object({ HOST: z.string().default('localhost') }))[0]).toMatchObject({
      key: 'HOST',
      hasDefault: true,
    });
    expect(() => describeFields(z.string() as never)).toThrow(TypeError);
  });
});
