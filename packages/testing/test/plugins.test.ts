import { ConfigError } from '@trellis/config';
import { createServer, definePlugin, mount, serviceKey, StartupError, type Middleware } from '@trellis/server';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERAS, startServer, textOf, withClient } from './helpers.js';

const echo = (name = 'echo') =>
  definePlugin({
    name,
    setup(scope) {
      scope.tools.add({
        name: 'echo',
        description: 'Echoes text',
        input: z.object({ text: z.string() }),
        handler: ({ text }) => text,
      });
    },
  });

describe('plugin composition', () => {
  it('a tool name clash stops the start naming both plugins', async () => {
    const error = await startServer([echo('first'), echo('second')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StartupError);
    expect(error).toMatchObject({ code: 'NAME_CLASH', plugin: 'second' });
    expect((error as Error).message).toContain('"first"');
    expect((error as Error).message).toContain('"second"');
  });

  it('mount() resolves a clash with a prefix', async () => {
    const { server } = await startServer([echo('first'), mount(echo('second'), { prefix: 'other' })]);
    await withClient(server, { era: 'legacy' }, async (client) => {
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      expect(names).toEqual(['echo', 'other_echo']);
      expect(textOf(await client.callTool({ name: 'other_echo', arguments: { text: 'hi' } }))).toBe('hi');
    });
    await server.close();
  });

  it('a missing dependency stops the start naming the plugin', async () => {
    const needy = definePlugin({ name: 'needy', dependsOn: ['database'], setup() {} });
    await expect(startServer([needy])).rejects.toMatchObject({
      code: 'PLUGIN_DEPENDENCY_MISSING',
      message: 'plugin "needy" depends on "database", which is not in the app\'s plugin list',
    });
  });

  it('a dependency cycle is named', async () => {
    const a = definePlugin({ name: 'a', dependsOn: ['b'], setup() {} });
    const b = definePlugin({ name: 'b', dependsOn: ['a'], setup() {} });
    await expect(startServer([a, b])).rejects.toMatchObject({
      code: 'PLUGIN_DEPENDENCY_CYCLE',
      message: expect.stringContaining('a → b → a'),
    });
  });

  it('a failing setup stops the start, names the plugin and closes those already set up', async () => {
    const closed: string[] = [];
    const fine = definePlugin({ name: 'fine', setup: (scope) => scope.onClose(() => void closed.push('fine')) });
    const broken = definePlugin({
      name: 'broken',
      setup() {
        throw new Error('cannot open the pool');
      },
    });
    await expect(startServer([fine, broken])).rejects.toMatchObject({
      code: 'PLUGIN_SETUP_FAILED',
      plugin: 'broken',
      message: 'plugin "broken" failed to set up: cannot open the pool',
    });
    expect(closed).toEqual(['fine']);
  });

  it.each(['prompt', 'resource', 'template'] as const)(
    'a %s clash between plugins fails the start with NAME_CLASH naming both',
    async (kind) => {
      const register = (name: string) =>
        definePlugin({
          name,
          setup(scope) {
            if (kind === 'prompt')
              scope.prompts.add({
                name: 'same',
                description: 'Same prompt',
                get: () => [{ role: 'user', content: { type: 'text', text: 'hi' } }],
              });
            else if (kind === 'resource')
              scope.resources.add({ uri: 'memo://same', name: `same-${name}`, read: () => 'x' });
            else scope.resources.template({ uriTemplate: 'memo://{id}', name: `same-${name}`, read: () => 'x' });
          },
        });
      const error = await startServer([register('first'), register('second')]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StartupError);
      expect(error).toMatchObject({
        code: 'NAME_CLASH',
        plugin: 'second',
        message: expect.stringMatching(/"first".*"second"/),
      });
    },
  );

  it('a setup that passes its deadline stops the start, names the plugin and closes those already set up', async () => {
    const closed: string[] = [];
    const fine = definePlugin({ name: 'fine', setup: (scope) => scope.onClose(() => void closed.push('fine')) });
    const stuck = definePlugin({ name: 'stuck', setup: () => new Promise<void>(() => undefined) });
    await expect(startServer([fine, stuck], { pluginSetupMs: 50 })).rejects.toMatchObject({
      code: 'PLUGIN_SETUP_TIMEOUT',
      plugin: 'stuck',
      message: expect.stringContaining('did not finish setting up within 50 ms'),
    });
    expect(closed).toEqual(['fine']);
  });

  it('ctx.service() at request time follows dependsOn, as scope.service() does at set-up', async () => {
    const Secret = serviceKey<string>('secret');
    const owner = definePlugin({ name: 'owner', setup: (scope) => scope.provide(Secret, 'hunter2') });
    const stranger = definePlugin({
      name: 'stranger',
      setup(scope) {
        scope.tools.add({
          name: 'peek',
          description: 'Reads a service it did not depend on',
          handler: (_args, ctx) => ctx.service(Secret),
        });
      },
    });
    const friend = definePlugin({
      name: 'friend',
      dependsOn: ['owner'],
      setup(scope) {
        scope.tools.add({
          name: 'read',
          description: 'Reads a service it depends on',
          handler: (_args, ctx) => ctx.service(Secret).length.toString(),
        });
      },
    });
    const { server } = await startServer([owner, stranger, friend]);
    try {
      await withClient(server, {}, async (client) => {
        const peek = await client.callTool({ name: 'peek', arguments: {} });
        expect(peek.isError).toBe(true);
        expect(textOf(peek)).not.toContain('hunter2');
        expect(textOf(await client.callTool({ name: 'read', arguments: {} }))).toBe('7');
      });
    } finally {
      await server.close({ graceMs: 100 });
    }
  });

  it('runs middleware around resources/subscribe and resources/unsubscribe too', async () => {
    const seen: string[] = [];
    const plugin = definePlugin({
      name: 'watched',
      setup(scope) {
        scope.useGlobal(async (op, next) => {
          seen.push(`${op.operation} ${op.target ?? ''}`);
          return next();
        });
        scope.resources.add({ uri: 'memo://one', name: 'one', description: 'One memo', read: () => 'one' });
      },
    });
    const { server } = await startServer([plugin]);
    try {
      await withClient(server, { era: 'legacy' }, async (client) => {
        await client.subscribeResource({ uri: 'memo://one' });
        await client.unsubscribeResource({ uri: 'memo://one' });
      });
    } finally {
      await server.close({ graceMs: 100 });
    }
    expect(seen).toEqual(['resources/subscribe memo://one', 'resources/unsubscribe memo://one']);
  });

  it('sets up in dependency order, shares typed services, and closes in reverse with a deadline', async () => {
    const events: string[] = [];
    const Counter = serviceKey<{ next(): number }>('counter');
    const consumer = definePlugin({
      name: 'consumer',
      dependsOn: ['provider'],
      setup(scope) {
        events.push('setup consumer');
        const counter = scope.service(Counter);
        scope.tools.add({ name: 'count', description: 'Counts', handler: () => String(counter.next()) });
        scope.onClose(() => void events.push('close consumer'));
      },
    });
    const provider = definePlugin({
      name: 'provider',
      setup(scope) {
        events.push('setup provider');
        let n = 0;
        scope.provide(Counter, { next: () => ++n });
        scope.onClose(() => new Promise<void>(() => events.push('close provider (hangs)')));
      },
    });
    const { server, logs } = await startServer([consumer, provider]);
    await withClient(server, { era: 'modern' }, async (client) => {
      expect(textOf(await client.callTool({ name: 'count', arguments: {} }))).toBe('1');
      expect(textOf(await client.callTool({ name: 'count', arguments: {} }))).toBe('2');
    });
    await server.close({ pluginCloseMs: 50 });
    expect(events).toEqual(['setup provider', 'setup consumer', 'close consumer', 'close provider (hangs)']);
    expect(logs.records.some((r) => r.msg === 'plugin close passed its deadline' && r.plugin === 'provider')).toBe(
      true,
    );
  });

  it('a service used without dependsOn is refused', async () => {
    const Key = serviceKey<number>('secret-number');
    const provider = definePlugin({ name: 'provider', setup: (scope) => scope.provide(Key, 42) });
    const sneaky = definePlugin({ name: 'sneaky', setup: (scope) => void scope.service(Key) });
    await expect(startServer([provider, sneaky])).rejects.toMatchObject({
      code: 'SERVICE_MISSING',
      message: expect.stringContaining('without listing it in dependsOn'),
    });
  });

  it('reports readiness from every plugin', async () => {
    let healthy = false;
    const db = definePlugin({
      name: 'db',
      setup: (scope) => scope.readiness(() => ({ ok: healthy, detail: healthy ? 'connected' : 'connection refused' })),
    });
    const { server } = await startServer([db]);
    expect(await server.ready()).toEqual({
      ready: false,
      checks: [{ plugin: 'db', ok: false, detail: 'connection refused' }],
    });
    healthy = true;
    expect((await server.ready()).ready).toBe(true);
    await server.close();
  });
});

describe('middleware', () => {
  it.each(ERAS)('runs in onion order around operations (%s)', async (era) => {
    const trace: string[] = [];
    const tracer = (label: string): Middleware =>
      async function trace_(op, next) {
        trace.push(`${label}>${op.operation}:${op.target ?? ''}`);
        try {
          return await next();
        } finally {
          trace.push(`${label}<`);
        }
      };
    const plugin = definePlugin({
      name: 'traced',
      setup(scope) {
        scope.useGlobal(tracer('global'));
        scope.use(tracer('own'));
        scope.tools.add({ name: 'hello', description: 'Says hello', handler: () => (trace.push('handler'), 'hello') });
      },
    });
    const { server } = await startServer([plugin, echo()]);
    await withClient(server, { era }, async (client) => {
      await client.callTool({ name: 'hello', arguments: {} });
      expect(trace).toEqual(['global>tools/call:hello', 'own>tools/call:hello', 'handler', 'own<', 'global<']);
      trace.length = 0;
      await client.callTool({ name: 'echo', arguments: { text: 'x' } });
      expect(trace).toEqual(['global>tools/call:echo', 'global<']);
    });
    await server.close();
  });

  it('a middleware may answer without calling next', async () => {
    const plugin = definePlugin({
      name: 'guard',
      setup(scope) {
        scope.useGlobal(async function deny(op, next) {
          if (op.operation === 'tools/call' && op.target === 'echo')
            return { content: [{ type: 'text', text: 'denied by policy' }], isError: true };
          return next();
        });
      },
    });
    const { server } = await startServer([plugin, echo()]);
    await withClient(server, { era: 'legacy' }, async (client) => {
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'x' } }))).toBe('denied by policy');
    });
    await server.close();
  });
});

describe('configuration', () => {
  const configured = () =>
    definePlugin({
      name: 'configured',
      config: z.object({
        API_TOKEN: z.string().describe('Token for the upstream API'),
        RETRIES: z.coerce.number().int().min(0).default(3),
      }),
      setup(scope) {
        scope.tools.add({ name: 'retries', description: 'Shows retries', handler: () => String(scope.config.RETRIES) });
      },
    });

  it('hands each plugin its typed configuration and serves config://settings redacted', async () => {
    const { server } = await startServer([configured()], {
      configSources: { argv: [], env: { API_TOKEN: 'sk-live-123456', RETRIES: '5' }, envFiles: [] },
    });
    await withClient(server, { era: 'modern' }, async (client) => {
      expect(textOf(await client.callTool({ name: 'retries', arguments: {} }))).toBe('5');
      const read = await client.readResource({ uri: 'config://settings' });
      const body = (read.contents[0] as { text: string }).text;
      const settings = JSON.parse(body);
      expect(settings.RETRIES).toBe(5);
      expect(body).not.toContain('sk-live-123456');
      expect(settings.API_TOKEN).toMatch(/redacted|\*/i);
    });
    await server.close();
  });

  it('lists every bad value at once before any plugin starts', async () => {
    let setUp = false;
    const plugin = definePlugin({ name: 'watch', setup: () => void (setUp = true) });
    const server = createServer({
      name: 't',
      version: '1',
      plugins: [configured(), plugin],
      configSources: { argv: [], env: { RETRIES: 'many', LOG_LEVEL: 'loud' }, envFiles: [] },
    });
    const error = await server.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('API_TOKEN');
    expect(message).toContain('RETRIES');
    expect(message).toContain('LOG_LEVEL');
    expect(setUp).toBe(false);
  });

  it('can opt out of config://settings', async () => {
    const { server } = await startServer([echo()], { settingsResource: false });
    await withClient(server, { era: 'legacy' }, async (client) => {
      expect((await client.listResources()).resources).toEqual([]);
    });
    await server.close();
  });
});
