import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError } from '@modelcontextprotocol/server';
import { describe, expect, it, vi } from 'vitest';
import { FileAccessError, ResourceClashError, ResourceRegistry } from './index.js';

interface Ctx {
  signal: AbortSignal;
  user: string;
}

const ctx: Ctx = { signal: new AbortController().signal, user: 'ada' };
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function registry(pageSize?: number) {
  return new ResourceRegistry<Ctx>(pageSize === undefined ? {} : { pageSize });
}

async function rejection(promise: Promise<unknown>): Promise<ProtocolError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProtocolError);
  return error as ProtocolError;
}

describe('ResourceRegistry: reading', () => {
  it('reads a static text resource with its MIME type, passing the request context', async () => {
    const r = registry();
    r.add({ uri: 'test://static-text', name: 'static', mimeType: 'text/plain', read: (c) => `Hello ${c.user}` });
    expect(await r.read('test://static-text', ctx)).toEqual({
      contents: [{ uri: 'test://static-text', mimeType: 'text/plain', text: 'Hello ada' }],
    });
  });

  it('returns bytes as a base64 blob, defaulting the MIME type', async () => {
    const r = registry();
    r.add({ uri: 'test://png', name: 'png', mimeType: 'image/png', read: () => PNG });
    r.add({ uri: 'test://raw', name: 'raw', read: () => new Uint8Array([1, 2, 3]) });
    expect((await r.read('test://png', ctx)).contents).toEqual([
      { uri: 'test://png', mimeType: 'image/png', blob: 'iVBORw0KGgo=' },
    ]);
    expect((await r.read('test://raw', ctx)).contents).toEqual([
      { uri: 'test://raw', mimeType: 'application/octet-stream', blob: 'AQID' },
    ]);
  });

  it('passes a full contents array through', async () => {
    const r = registry();
    const contents = [
      { uri: 'test://multi#a', mimeType: 'text/plain', text: 'a' },
      { uri: 'test://multi#b', mimeType: 'application/octet-stream', blob: 'AA==' },
    ];
    r.add({ uri: 'test://multi', name: 'multi', read: async () => contents });
    expect((await r.read('test://multi', ctx)).contents).toEqual(contents);
  });

  it('reads through a template with decoded variables and the raw URI', async () => {
    const r = registry();
    const read = vi.fn((uri: string, vars: Record<string, string | string[]>) => JSON.stringify({ uri, ...vars }));
    r.addTemplate({ uriTemplate: 'test://template/{id}/data', name: 'data', mimeType: 'application/json', read });
    const result = await r.read('test://template/a%20b/data', ctx);
    expect(result.contents).toEqual([
      {
        uri: 'test://template/a%20b/data',
        mimeType: 'application/json',
        text: '{"uri":"test://template/a%20b/data","id":"a b"}',
      },
    ]);
    expect(read).toHaveBeenCalledWith('test://template/a%20b/data', { id: 'a b' }, ctx);
  });

  it('prefers an exact static match, then templates in registration order', async () => {
    const r = registry();
    r.addTemplate({ uriTemplate: 'notes://{id}', name: 'first', read: () => 'first template' });
    r.addTemplate({ uriTemplate: 'notes://{+rest}', name: 'second', read: () => 'second template' });
    r.add({ uri: 'notes://pinned', name: 'pinned', read: () => 'static' });
    expect((await r.read('notes://pinned', ctx)).contents[0]).toMatchObject({ text: 'static' });
    expect((await r.read('notes://42', ctx)).contents[0]).toMatchObject({ text: 'first template' });
    expect((await r.read('notes://a/b', ctx)).contents[0]).toMatchObject({ text: 'second template' });
  });

  it('throws the SDK ResourceNotFoundError for an unknown URI', async () => {
    const r = registry();
    r.addTemplate({ uriTemplate: 'notes://{id}', name: 'notes', read: () => 'x' });
    const error = await rejection(r.read('other://nothing', ctx));
    expect(error).toBeInstanceOf(ResourceNotFoundError);
    expect(error.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(error.data).toEqual({ uri: 'other://nothing' });
  });

  it('maps FileAccessError: NOT_FOUND to not-found, the others to invalid params with the reason', async () => {
    const r = registry();
    r.addTemplate({
      uriTemplate: 'vault://{name}',
      name: 'vault',
      read: (uri, { name }) => {
        throw new FileAccessError(name === 'gone' ? 'NOT_FOUND' : 'TOO_LARGE', `nope: ${uri}`, uri);
      },
    });
    expect(await rejection(r.read('vault://gone', ctx))).toBeInstanceOf(ResourceNotFoundError);
    const tooLarge = await rejection(r.read('vault://big', ctx));
    expect(tooLarge).not.toBeInstanceOf(ResourceNotFoundError);
    expect(tooLarge.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(tooLarge.data).toEqual({ uri: 'vault://big', reason: 'TOO_LARGE' });
  });

  it('refuses malformed percent-encoding in template variables', async () => {
    const r = registry();
    r.addTemplate({ uriTemplate: 'notes://{id}', name: 'notes', read: () => 'x' });
    const error = await rejection(r.read('notes://%zz', ctx));
    expect(error.code).toBe(ProtocolErrorCode.InvalidParams);
    expect(error.message).toMatch(/percent-encoding/);
  });

  it('lets other handler errors through unchanged', async () => {
    const r = registry();
    const boom = new Error('database down');
    r.add({ uri: 'test://broken', name: 'broken', read: () => Promise.reject(boom) });
    await expect(r.read('test://broken', ctx)).rejects.toBe(boom);
  });

  it('gives the cache hint of the resource or matching template', () => {
    const r = registry();
    r.add({ uri: 'test://cached', name: 'c', cacheHint: { ttlMs: 60_000, cacheScope: 'public' }, read: () => '' });
    r.addTemplate({ uriTemplate: 'notes://{id}', name: 'n', cacheHint: { ttlMs: 0 }, read: () => '' });
    expect(r.cacheHintFor('test://cached')).toEqual({ ttlMs: 60_000, cacheScope: 'public' });
    expect(r.cacheHintFor('notes://1')).toEqual({ ttlMs: 0 });
    expect(r.cacheHintFor('none://x')).toBeUndefined();
  });
});

describe('ResourceRegistry: registration', () => {
  it('names both owners when a URI or template is registered twice', () => {
    const r = registry();
    r.add({ uri: 'test://a', name: 'a', read: () => '' }, 'alpha');
    expect(() => r.add({ uri: 'test://a', name: 'a2', read: () => '' }, 'beta')).toThrow(ResourceClashError);
    try {
      r.add({ uri: 'test://a', name: 'a2', read: () => '' }, 'beta');
    } catch (error) {
      expect(error).toMatchObject({
        code: 'RESOURCE_CLASH',
        kind: 'resource',
        key: 'test://a',
        existingOwner: 'alpha',
        newOwner: 'beta',
      });
      expect((error as Error).message).toContain('"alpha"');
      expect((error as Error).message).toContain('"beta"');
    }
    r.addTemplate({ uriTemplate: 'notes://{id}', name: 'n', read: () => '' }, 'alpha');
    expect(() => r.addTemplate({ uriTemplate: 'notes://{id}', name: 'n', read: () => '' }, 'gamma')).toThrow(
      /resource template "notes:\/\/\{id\}" is registered by both "alpha" and "gamma"/,
    );
    expect(r.ownerOf('test://a')).toBe('alpha');
    expect(r.ownerOf('notes://{id}')).toBe('alpha');
    expect(r.ownerOf('notes://42')).toBe('alpha');
    expect(r.ownerOf('other://x')).toBeUndefined();
  });

  it('validates specs when they are added, naming the problem', () => {
    const r = registry();
    expect(() => r.add({ uri: 'no scheme', name: 'x', read: () => '' })).toThrow(/absolute URI/);
    expect(() => r.add({ uri: 'notes://{id}', name: 'x', read: () => '' })).toThrow(/addTemplate/);
    expect(() => r.add({ uri: 'test://x', name: '', read: () => '' })).toThrow(/needs a name/);
    expect(() => r.add({ uri: 'test://x', name: 'x', cacheHint: { ttlMs: -1 }, read: () => '' })).toThrow(/ttlMs/);
    expect(() => r.addTemplate({ uriTemplate: 'notes://fixed', name: 'x', read: () => '' })).toThrow(/no variables/);
    expect(() =>
      r.addTemplate({ uriTemplate: 'notes://{id}', name: 'x', complete: { nope: () => [] }, read: () => '' }),
    ).toThrow(/complete\.nope names no variable/);
    expect(() => new ResourceRegistry({ pageSize: 0 })).toThrow(/pageSize must be a positive integer, got 0/);
  });

  it('announces list changes on add and remove, and stops after unsubscribe', () => {
    const r = registry();
    const changed = vi.fn();
    const off = r.onListChanged(changed);
    r.add({ uri: 'test://a', name: 'a', read: () => '' });
    r.addTemplate({ uriTemplate: 'notes://{id}', name: 'n', read: () => '' });
    expect(r.remove('test://a')).toBe(true);
    expect(r.remove('test://a')).toBe(false);
    expect(r.removeTemplate('notes://{id}')).toBe(true);
    expect(changed).toHaveBeenCalledTimes(4);
    off();
    r.add({ uri: 'test://b', name: 'b', read: () => '' });
    expect(changed).toHaveBeenCalledTimes(4);
  });
});

describe('ResourceRegistry: listing', () => {
  function filled(count: number) {
    const r = registry(2);
    for (let i = 0; i < count; i++) r.add({ uri: `test://r${i}`, name: `r${i}`, title: `R ${i}`, read: () => '' });
    return r;
  }

  it('pages through resources with opaque cursors', async () => {
    const r = filled(5);
    const first = await r.list(undefined, ctx);
    expect(first.resources.map((x) => x.uri)).toEqual(['test://r0', 'test://r1']);
    expect(first.resources[0]).toEqual({ uri: 'test://r0', name: 'r0', title: 'R 0' });
    const second = await r.list(first.nextCursor, ctx);
    expect(second.resources.map((x) => x.uri)).toEqual(['test://r2', 'test://r3']);
    const last = await r.list(second.nextCursor, ctx);
    expect(last.resources.map((x) => x.uri)).toEqual(['test://r4']);
    expect(last.nextCursor).toBeUndefined();
  });

  it('refuses a bad cursor, and a cursor of another list, with invalid params', async () => {
    const r = filled(3);
    r.addTemplate({ uriTemplate: 'a://{x}', name: 'a', read: () => '' });
    r.addTemplate({ uriTemplate: 'b://{x}', name: 'b', read: () => '' });
    r.addTemplate({ uriTemplate: 'c://{x}', name: 'c', read: () => '' });
    for (const cursor of ['garbage', '', btoa('{"l":"resources/list","o":-1}')]) {
      const error = await rejection(r.list(cursor, ctx));
      expect(error.code).toBe(ProtocolErrorCode.InvalidParams);
      expect(error.message).toMatch(/Invalid cursor/);
    }
    const templateCursor = r.listTemplates().nextCursor;
    expect(templateCursor).toBeDefined();
    expect((await rejection(r.list(templateCursor, ctx))).code).toBe(ProtocolErrorCode.InvalidParams);
  });

  it('includes what templates list, after static resources, once per URI, with the template MIME type', async () => {
    const r = registry();
    r.add({ uri: 'notes://1', name: 'pinned', read: () => '' });
    r.addTemplate({
      uriTemplate: 'notes://{id}',
      name: 'notes',
      mimeType: 'text/markdown',
      list: (c) => [
        { uri: 'notes://1', name: 'duplicate' },
        { uri: 'notes://2', name: `note of ${c.user}` },
      ],
      read: () => '',
    });
    expect((await r.list(undefined, ctx)).resources).toEqual([
      { uri: 'notes://1', name: 'pinned' },
      { uri: 'notes://2', name: 'note of ada', mimeType: 'text/markdown' },
    ]);
  });

  it('lists templates with their metadata', () => {
    const r = registry();
    r.addTemplate({
      uriTemplate: 'notes://{id}',
      name: 'notes',
      description: 'Notes by id',
      mimeType: 'text/plain',
      read: () => '',
    });
    expect(r.listTemplates()).toEqual({
      resourceTemplates: [
        { uriTemplate: 'notes://{id}', name: 'notes', description: 'Notes by id', mimeType: 'text/plain' },
      ],
    });
  });
});

describe('ResourceRegistry: completion', () => {
  it('completes a template variable with context, capping at 100 values', async () => {
    const r = registry();
    r.addTemplate({
      uriTemplate: 'repo://{owner}/{name}',
      name: 'repos',
      complete: {
        owner: (value) => ['ada', 'alan', 'grace'].filter((o) => o.startsWith(value)),
        name: (value, context) =>
          Array.from({ length: 150 }, (_, i) => `${context.arguments?.owner ?? '?'}-${value}${i}`),
      },
      read: () => '',
    });
    expect(await r.complete('repo://{owner}/{name}', 'owner', 'a', {}, ctx)).toEqual({ values: ['ada', 'alan'] });
    const many = await r.complete('repo://{owner}/{name}', 'name', 'x', { arguments: { owner: 'ada' } }, ctx);
    expect(many.values).toHaveLength(100);
    expect(many.values[0]).toBe('ada-x0');
    expect(many).toMatchObject({ total: 150, hasMore: true });
  });

  it('answers no values for a variable without a completer, and invalid params for unknown refs', async () => {
    const r = registry();
    r.addTemplate({ uriTemplate: 'notes://{id}', name: 'notes', read: () => '' });
    expect(await r.complete('notes://{id}', 'id', '', {}, ctx)).toEqual({ values: [] });
    expect((await rejection(r.complete('nope://{id}', 'id', '', {}, ctx))).message).toMatch(
      /Unknown resource template/,
    );
    expect((await rejection(r.complete('notes://{id}', 'other', '', {}, ctx))).message).toMatch(
      /has no variable "other" \(its variables: id\)/,
    );
  });
});

describe('ResourceRegistry: subscriptions', () => {
  it('fans updates out to the subscribers of a URI', () => {
    const r = registry();
    const updated = vi.fn();
    r.onUpdated(updated);
    r.subscribe('test://watched', 'session-1');
    r.subscribe('test://watched', 'session-2');
    r.subscribe('test://other', 'session-1');
    r.notifyUpdated('test://watched');
    expect(updated).toHaveBeenLastCalledWith('test://watched', ['session-1', 'session-2']);

    expect(r.unsubscribe('test://watched', 'session-2')).toBe(true);
    expect(r.unsubscribe('test://watched', 'session-2')).toBe(false);
    r.notifyUpdated('test://watched');
    expect(updated).toHaveBeenLastCalledWith('test://watched', ['session-1']);

    expect(r.unsubscribeAll('session-1')).toBe(2);
    expect(r.subscribersOf('test://watched')).toEqual([]);
    expect(r.subscribersOf('test://other')).toEqual([]);
    r.notifyUpdated('test://watched');
    expect(updated).toHaveBeenLastCalledWith('test://watched', []);
  });

  it('reaches every listener even when one throws, then reports the failure', () => {
    const r = registry();
    const second = vi.fn();
    r.onUpdated(() => {
      throw new Error('transport closed');
    });
    r.onUpdated(second);
    r.subscribe('test://w', 's');
    expect(() => r.notifyUpdated('test://w')).toThrow('transport closed');
    expect(second).toHaveBeenCalledWith('test://w', ['s']);
  });

  it('tells whether a URI would resolve', () => {
    const r = registry();
    r.add({ uri: 'test://a', name: 'a', read: () => '' });
    r.addTemplate({ uriTemplate: 'notes://{id}', name: 'n', read: () => '' });
    expect(r.matches('test://a')).toBe(true);
    expect(r.matches('notes://7')).toBe(true);
    expect(r.matches('test://b')).toBe(false);
  });
});
