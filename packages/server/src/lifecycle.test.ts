import { describe, expect, it } from 'vitest';
import { orderPlugins, withinDeadline } from './lifecycle.js';
import { runMiddleware, type Middleware } from './middleware.js';
import { definePlugin, mount, prefixUri } from './plugin.js';

const plugin = (name: string, dependsOn: string[] = []) => definePlugin({ name, dependsOn, setup() {} });

describe('orderPlugins', () => {
  it('puts dependencies first and keeps the app order otherwise', () => {
    const ordered = orderPlugins([
      plugin('api', ['db', 'cache']),
      plugin('metrics'),
      plugin('cache', ['db']),
      plugin('db'),
    ]);
    expect(ordered.map((p) => p.name)).toEqual(['db', 'cache', 'api', 'metrics']);
  });

  it('names duplicates, missing dependencies and cycles', () => {
    expect(() => orderPlugins([plugin('a'), plugin('a')])).toThrow('plugin "a" is listed twice');
    expect(() => orderPlugins([plugin('a', ['ghost'])])).toThrow('plugin "a" depends on "ghost"');
    expect(() => orderPlugins([plugin('a', ['b']), plugin('b', ['c']), plugin('c', ['a'])])).toThrow('a → b → c → a');
  });
});

describe('definePlugin and mount', () => {
  it('validates the plugin name', () => {
    expect(() => definePlugin({ name: '1bad', setup() {} })).toThrow(TypeError);
  });

  it('prefixes names and URIs', () => {
    const mounted = mount(plugin('files'), { prefix: 'docs' });
    expect(mounted.name).toBe('docs/files');
    expect(mounted.prefix).toBe('docs');
    expect(prefixUri('docs', 'test://static')).toBe('test://docs/static');
    expect(prefixUri('docs', 'file:///{+path}')).toBe('file:///{+path}');
    expect(() => mount(plugin('x'), { prefix: 'bad prefix' })).toThrow(TypeError);
  });
});

describe('runMiddleware', () => {
  const op = { operation: 'tools/call' as const, target: 't', params: {}, request: {} as never };

  it('runs in onion order', async () => {
    const trace: string[] = [];
    const layer =
      (name: string): Middleware =>
      async (_op, next) => {
        trace.push(`${name}>`);
        const result = await next();
        trace.push(`<${name}`);
        return result;
      };
    const result = await runMiddleware([layer('a'), layer('b')], op, async () => (trace.push('core'), 42));
    expect(result).toBe(42);
    expect(trace).toEqual(['a>', 'b>', 'core', '<b', '<a']);
  });

  it('refuses a second next()', async () => {
    const twice: Middleware = async (_op, next) => {
      await next();
      return next();
    };
    await expect(runMiddleware([twice], op, async () => 1)).rejects.toMatchObject({ code: 'MIDDLEWARE_NEXT_TWICE' });
  });
});

describe('withinDeadline', () => {
  it('reports whether the work finished in time', async () => {
    expect(await withinDeadline(() => Promise.resolve(), 100)).toEqual({ finished: true });
    expect(await withinDeadline(() => new Promise(() => undefined), 10)).toEqual({ finished: false });
  });
});
