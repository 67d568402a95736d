import { ProtocolError } from '@modelcontextprotocol/server';
import { CancelScope } from '@trellis/concurrency';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ToolNameClashError } from './define.js';
import { ToolRegistry } from './registry.js';

type Ctx = { signal: AbortSignal };
const call = (registry: ToolRegistry<Ctx>, name: string, args: unknown, onError = vi.fn()) =>
  registry.call(name, args, { scope: new CancelScope([]), context: (scope) => ({ signal: scope.signal }), onError });

describe('ToolRegistry', () => {
  it('refuses a second tool of the same name, naming both owners', () => {
    const registry = new ToolRegistry<Ctx>();
    registry.add({ name: 'echo', description: 'Echo', handler: () => 'x' }, 'plugin-a');
    expect(() => registry.add({ name: 'echo', description: 'Echo', handler: () => 'y' }, 'plugin-b')).toThrow(
      ToolNameClashError,
    );
    expect(() => registry.add({ name: 'echo', description: 'Echo', handler: () => 'y' }, 'plugin-b')).toThrow(
      /"plugin-a" and "plugin-b"/,
    );
  });

  it('validates names, descriptions and options when a tool is added', () => {
    const registry = new ToolRegistry<Ctx>();
    expect(() => registry.add({ name: 'has space', description: 'x', handler: () => '' })).toThrow(
      /tool name "has space" is invalid/,
    );
    expect(() => registry.add({ name: 'nodesc', description: ' ', handler: () => '' })).toThrow(/needs a description/);
    expect(() => registry.add({ name: 'c', description: 'x', concurrency: 0, handler: () => '' })).toThrow(
      /concurrency must be a positive integer/,
    );
    expect(() => registry.add({ name: 'u', description: 'x', input: z.string() as never, handler: () => '' })).toThrow(
      /must be a zod object/,
    );
  });

  it('keeps 2020-12 features of zod schemas: $defs and additionalProperties', () => {
    const registry = new ToolRegistry<Ctx>();
    const Address = z.object({ street: z.string() }).meta({ id: 'registry_test_address' });
    registry.add({
      name: 'geo',
      description: 'x',
      input: z.strictObject({ home: Address, work: Address.optional() }),
      handler: () => '',
    });
    const [tool] = registry.list();
    expect(tool!.inputSchema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      additionalProperties: false,
      properties: { home: { $ref: '#/$defs/registry_test_address' } },
      $defs: { registry_test_address: { type: 'object' } },
    });
  });

  it('serves a raw JSON Schema as written and validates against it', async () => {
    const registry = new ToolRegistry<Ctx>();
    const inputSchema = {
      type: 'object' as const,
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      properties: { contact: { type: 'string', enum: ['phone', 'email'] }, phone: { type: 'string' } },
      if: { properties: { contact: { const: 'phone' } }, required: ['contact'] },
      then: { required: ['phone'] },
      additionalProperties: false,
    };
    registry.add({ name: 'contact', description: 'x', inputSchema, handler: (args) => JSON.stringify(args) });
    expect(registry.list()[0]!.inputSchema).toEqual(inputSchema);
    const bad = await call(registry, 'contact', { contact: 'phone' });
    expect(bad.isError).toBe(true);
    expect(JSON.stringify(bad)).toMatch(/Invalid arguments for tool \\"contact\\"/);
    const good = await call(registry, 'contact', { contact: 'phone', phone: '123' });
    expect(good).toEqual({ content: [{ type: 'text', text: '{"contact":"phone","phone":"123"}' }] });
  });

  it('an unknown tool is a protocol error, not a result', async () => {
    const registry = new ToolRegistry<Ctx>();
    await expect(call(registry, 'missing', {})).rejects.toBeInstanceOf(ProtocolError);
  });

  it('caches the listing until a tool is added or removed, and tells listeners', () => {
    const registry = new ToolRegistry<Ctx>();
    const changed = vi.fn();
    registry.onChange(changed);
    registry.add({ name: 'a', description: 'x', handler: () => '' });
    const first = registry.list();
    expect(registry.list()).toBe(first);
    registry.add({ name: 'b', description: 'x', handler: () => '' });
    expect(registry.list()).not.toBe(first);
    expect(registry.remove('a')).toBe(true);
    expect(registry.remove('a')).toBe(false);
    expect(changed).toHaveBeenCalledTimes(3);
    expect(registry.list().map((t) => t.name)).toEqual(['b']);
  });

  it('adds a text block for structured content that has none', async () => {
    const registry = new ToolRegistry<Ctx>();
    registry.add({
      name: 's',
      description: 'x',
      output: z.object({ n: z.number() }),
      handler: () => ({ structuredContent: { n: 1 } }),
    });
    expect(await call(registry, 's', undefined)).toEqual({
      structuredContent: { n: 1 },
      content: [{ type: 'text', text: '{"n":1}' }],
    });
  });

  it('reports a handler bug to onError and hides it from the result', async () => {
    const registry = new ToolRegistry<Ctx>();
    const onError = vi.fn();
    registry.add({
      name: 'bug',
      description: 'x',
      handler: () => {
        throw new TypeError('secret internals');
      },
    });
    const result = await call(registry, 'bug', {}, onError);
    expect(JSON.stringify(result)).not.toContain('secret internals');
    expect(onError).toHaveBeenCalledWith(expect.any(TypeError), 'bug');
  });

  it('callInto tells the same answers as call, after end(), once per call', async () => {
    const registry = new ToolRegistry<Ctx>();
    registry.add({
      name: 'echo',
      description: 'x',
      input: z.object({ text: z.string() }),
      handler: ({ text }) => text,
    });
    registry.add({
      name: 'bug',
      description: 'x',
      handler: async () => {
        throw new TypeError('secret internals');
      },
    });
    registry.add({
      name: 'ask',
      description: 'x',
      handler: () => ({ resultType: 'input_required', inputRequests: {} }) as never,
    });
    const into = (name: string, args: unknown) =>
      new Promise<{ result?: unknown; error?: unknown; order: string[] }>((resolve) => {
        const order: string[] = [];
        registry.callInto(name, args, {
          scope: new CancelScope([]),
          context: (scope) => ({ signal: scope.signal }),
          end: () => order.push('end'),
          resolved: (result) => resolve({ result, order: [...order, 'answer'] }),
          rejected: (error) => resolve({ error, order: [...order, 'answer'] }),
        });
      });
    expect(await into('echo', { text: 'hi' })).toEqual({
      result: { content: [{ type: 'text', text: 'hi' }] },
      order: ['end', 'answer'],
    });
    const invalid = await into('echo', { text: 1 });
    expect(invalid.result).toMatchObject({
      isError: true,
      content: [{ text: expect.stringMatching(/Invalid arguments/) }],
    });
    expect(invalid.order).toEqual(['end', 'answer']);
    const failed = await into('bug', {});
    expect(JSON.stringify(failed.result)).not.toContain('secret internals');
    expect(failed.result).toMatchObject({ isError: true });
    // Only tools registered as interactive may answer input_required.
    expect((await into('ask', {})).result).toMatchObject({
      isError: true,
      content: [{ text: expect.stringMatching(/interactive: true/) }],
    });
    const unknown = await into('nope', {});
    expect(unknown.error).toBeInstanceOf(ProtocolError);
    expect(unknown.order).toEqual(['end', 'answer']);
  });

  it("computes a tool's task options once, at registration", () => {
    const registry = new ToolRegistry<Ctx>();
    registry.add({ name: 't', description: 'x', taskSupport: 'optional', task: { ttlMs: 5000 }, handler: () => '' });
    registry.add({ name: 'plain', description: 'x', handler: () => '' });
    expect(registry.taskOptionsOf('t')).toEqual({ ttlMs: 5000, support: 'optional' });
    expect(registry.taskOptionsOf('t')).toBe(registry.taskOptionsOf('t'));
    expect(registry.taskOptionsOf('plain')).toBeUndefined();
    expect(registry.hasTaskTools).toBe(true);
  });
});
