import { inputRequired, ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { assistant, imageMessage, PromptNameClashError, PromptRegistry, resourceMessage, user } from './index.js';

interface Ctx {
  signal: AbortSignal;
  user: string;
}

const ctx: Ctx = { signal: new AbortController().signal, user: 'ada' };
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function withArgs(registry = new PromptRegistry<Ctx>()) {
  registry.add(
    {
      name: 'test_prompt_with_arguments',
      title: 'With arguments',
      description: 'A prompt with arguments',
      arguments: z.object({
        arg1: z.string().describe('First argument'),
        arg2: z.string().min(3).describe('Second argument'),
        tone: z.enum(['formal', 'casual']).optional(),
        lang: z.string().default('en'),
      }),
      complete: {
        arg1: (value) => ['alpha', 'beta', 'alphabet'].filter((v) => v.startsWith(value)),
        tone: () => ['formal', 'casual'],
      },
      get: (args, c) => [
        user(`arg1=${args.arg1} arg2=${args.arg2} tone=${args.tone ?? '-'} lang=${args.lang} for ${c.user}`),
      ],
    },
    'fixtures',
  );
  return registry;
}

async function rejection(promise: Promise<unknown>): Promise<ProtocolError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProtocolError);
  return error as ProtocolError;
}

describe('PromptRegistry: listing', () => {
  it('lists prompts with arguments derived from the zod object', () => {
    const registry = withArgs();
    registry.add({
      name: 'test_simple_prompt',
      description: 'A simple prompt',
      get: () => [user('This is a simple prompt for testing.')],
    });
    expect(registry.list()).toEqual({
      prompts: [
        {
          name: 'test_prompt_with_arguments',
          title: 'With arguments',
          description: 'A prompt with arguments',
          arguments: [
            { name: 'arg1', description: 'First argument', required: true },
            { name: 'arg2', description: 'Second argument', required: true },
            { name: 'tone', required: false },
            { name: 'lang', required: false },
          ],
        },
        { name: 'test_simple_prompt', description: 'A simple prompt' },
      ],
    });
  });

  it('pages with opaque cursors and refuses a bad one', async () => {
    const registry = new PromptRegistry<Ctx>({ pageSize: 2 });
    for (const name of ['a', 'b', 'c']) registry.add({ name, description: name, get: () => [] });
    const first = registry.list();
    expect(first.prompts.map((p) => p.name)).toEqual(['a', 'b']);
    const second = registry.list(first.nextCursor);
    expect(second.prompts.map((p) => p.name)).toEqual(['c']);
    expect(second.nextCursor).toBeUndefined();
    const error = await rejection(Promise.resolve().then(() => registry.list('not-a-cursor')));
    expect(error.code).toBe(ProtocolErrorCode.InvalidParams);
  });

  it('announces changes on add and remove', () => {
    const registry = new PromptRegistry<Ctx>();
    const changed = vi.fn();
    const off = registry.onChange(changed);
    registry.add({ name: 'p', description: 'p', get: () => [] });
    expect(registry.remove('p')).toBe(true);
    expect(registry.remove('p')).toBe(false);
    expect(changed).toHaveBeenCalledTimes(2);
    off();
    registry.add({ name: 'q', description: 'q', get: () => [] });
    expect(changed).toHaveBeenCalledTimes(2);
    expect(registry.size).toBe(1);
    expect(registry.has('q')).toBe(true);
  });
});

describe('PromptRegistry: registration', () => {
  it('names both owners on a clash', () => {
    const registry = withArgs();
    const again = () => withArgs(registry);
    expect(again).toThrow(PromptNameClashError);
    expect(again).toThrow('prompt "test_prompt_with_arguments" is registered by both "fixtures" and "fixtures"');
    try {
      registry.add({ name: 'test_prompt_with_arguments', description: 'x', get: () => [] }, 'other');
    } catch (error) {
      expect(error).toMatchObject({ code: 'PROMPT_NAME_CLASH', existingOwner: 'fixtures', newOwner: 'other' });
    }
    expect(registry.ownerOf('test_prompt_with_arguments')).toBe('fixtures');
  });

  it('refuses specs that cannot work, naming the problem', () => {
    const registry = new PromptRegistry<Ctx>();
    expect(() => registry.add({ name: 'p', description: '', get: () => [] })).toThrow(/needs a description/);
    expect(() => registry.add({ name: '', description: 'd', get: () => [] })).toThrow(/prompt name "" is invalid/);
    expect(() =>
      registry.add({ name: 'p', description: 'd', arguments: z.object({ n: z.number() }), get: () => [] }),
    ).toThrow(/argument "n" must take a string .* got "number"/);
    expect(() =>
      registry.add({
        name: 'p',
        description: 'd',
        arguments: z.object({ a: z.string() }),
        complete: { b: () => [] } as never,
        get: () => [],
      }),
    ).toThrow(/complete\.b names no argument \(its arguments: a\)/);
    expect(registry.size).toBe(0);
  });
});

describe('PromptRegistry: get', () => {
  it('passes parsed arguments (defaults applied) and the context', async () => {
    const result = await withArgs().get('test_prompt_with_arguments', { arg1: 'testValue1', arg2: 'testValue2' }, ctx);
    expect(result).toEqual({
      messages: [
        { role: 'user', content: { type: 'text', text: 'arg1=testValue1 arg2=testValue2 tone=- lang=en for ada' } },
      ],
    });
  });

  it('accepts omitted arguments for a prompt without any', async () => {
    const registry = new PromptRegistry<Ctx>();
    registry.add({
      name: 'simple',
      description: 'Simple',
      get: () => ({ description: 'A greeting', messages: [user('hi'), assistant('hello')] }),
    });
    expect(await registry.get('simple', undefined, ctx)).toEqual({
      description: 'A greeting',
      messages: [
        { role: 'user', content: { type: 'text', text: 'hi' } },
        { role: 'assistant', content: { type: 'text', text: 'hello' } },
      ],
    });
  });

  it('names every missing or bad argument and what was expected', async () => {
    const registry = withArgs();
    const missing = await rejection(registry.get('test_prompt_with_arguments', {}, ctx));
    expect(missing.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(missing.message).toBe(
      'Invalid arguments for prompt "test_prompt_with_arguments": arg1: is required (expected string); arg2: is required (expected string)',
    );
    const bad = await rejection(
      registry.get('test_prompt_with_arguments', { arg1: 'x', arg2: 'ab', tone: 'angry' }, ctx),
    );
    expect(bad.message).toContain('arg2: must be at least 3 characters long');
    expect(bad.message).toContain('tone: expected one of "formal", "casual"');
    expect(bad.message).not.toContain('arg1');
    expect(bad.data).toMatchObject({
      prompt: 'test_prompt_with_arguments',
      problems: [{ path: 'arg2' }, { path: 'tone' }],
    });
    const notObject = await rejection(registry.get('test_prompt_with_arguments', ['x'], ctx));
    expect(notObject.message).toContain('(arguments): expected an object of string values');
  });

  it('answers an unknown prompt with invalid params', async () => {
    const error = await rejection(new PromptRegistry<Ctx>().get('nope', {}, ctx));
    expect(error.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(error.message).toBe('Unknown prompt: nope');
  });

  it('returns embedded resource and image messages', async () => {
    const registry = new PromptRegistry<Ctx>();
    registry.add({
      name: 'test_prompt_with_embedded_resource',
      description: 'Embeds a resource',
      arguments: z.object({ resourceUri: z.string() }),
      get: ({ resourceUri }) => [resourceMessage(resourceUri, 'Embedded text', 'text/plain'), user('Summarise it.')],
    });
    registry.add({
      name: 'test_prompt_with_image',
      description: 'Shows an image',
      get: () => [
        imageMessage(PNG, 'image/png'),
        resourceMessage('test://bytes', new Uint8Array([1, 2, 3]), 'application/octet-stream', 'assistant'),
      ],
    });
    const embedded = await registry.get(
      'test_prompt_with_embedded_resource',
      { resourceUri: 'test://example-resource' },
      ctx,
    );
    expect(embedded).toMatchObject({
      messages: [
        {
          role: 'user',
          content: {
            type: 'resource',
            resource: { uri: 'test://example-resource', mimeType: 'text/plain', text: 'Embedded text' },
          },
        },
        {},
      ],
    });
    expect(await registry.get('test_prompt_with_image', undefined, ctx)).toEqual({
      messages: [
        { role: 'user', content: { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' } },
        {
          role: 'assistant',
          content: {
            type: 'resource',
            resource: { uri: 'test://bytes', mimeType: 'application/octet-stream', blob: 'AQID' },
          },
        },
      ],
    });
  });

  it('passes an input_required result through untouched', async () => {
    const registry = new PromptRegistry<Ctx>();
    const pending = inputRequired({
      inputRequests: {
        name: inputRequired.elicit({
          message: 'Your name?',
          requestedSchema: { type: 'object', properties: { name: { type: 'string' } } },
        }),
      },
    });
    registry.add({ name: 'ask', description: 'Asks first', get: () => pending });
    expect(await registry.get('ask', {}, ctx)).toBe(pending);
  });
});

describe('PromptRegistry: completion', () => {
  it('completes an argument, capping at 100 values', async () => {
    const registry = withArgs();
    expect(await registry.complete('test_prompt_with_arguments', 'arg1', 'alp', {}, ctx)).toEqual({
      values: ['alpha', 'alphabet'],
    });
    expect(await registry.complete('test_prompt_with_arguments', 'arg2', 'x', {}, ctx)).toEqual({ values: [] });
    registry.add({
      name: 'many',
      description: 'Many values',
      arguments: z.object({ n: z.string() }),
      complete: {
        n: (value, context, c) =>
          Array.from({ length: 120 }, (_, i) => `${c.user}:${context.arguments?.other ?? ''}:${value}${i}`),
      },
      get: () => [],
    });
    const many = await registry.complete('many', 'n', 'v', { arguments: { other: 'o' } }, ctx);
    expect(many.values).toHaveLength(100);
    expect(many.values[0]).toBe('ada:o:v0');
    expect(many).toMatchObject({ total: 120, hasMore: true });
  });

  it('answers unknown prompts and arguments with invalid params', async () => {
    const registry = withArgs();
    expect((await rejection(registry.complete('nope', 'arg1', '', {}, ctx))).message).toBe('Unknown prompt: nope');
    expect((await rejection(registry.complete('test_prompt_with_arguments', 'zzz', '', {}, ctx))).message).toBe(
      'Prompt "test_prompt_with_arguments" has no argument "zzz" (its arguments: arg1, arg2, tone, lang)',
    );
  });
});
