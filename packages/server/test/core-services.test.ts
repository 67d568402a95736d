import { InMemoryServerEventBus, type ServerEvent } from '@modelcontextprotocol/server';
import { MemoryTaskStore } from '@trellis/tasks';
import { describe, expect, it } from 'vitest';
import { CoreServices, createServer, definePlugin, type ServerChange } from '../src/index.js';

const quiet = { argv: [], env: { LOG_LEVEL: 'silent' }, envFiles: [] };

/** A bus that records what is published and lets the test deliver events as another instance would. */
class RecordingBus extends InMemoryServerEventBus {
  readonly published: ServerEvent[] = [];
  override publish(event: ServerEvent): void {
    this.published.push(event);
  }
  arrive(event: ServerEvent): void {
    super.publish(event);
  }
}

describe('core services a plugin may provide', () => {
  it("a provided change bus carries the server's changes out, and what arrives on it reaches this process's listeners", async () => {
    const bus = new RecordingBus();
    const store = new MemoryTaskStore();
    const server = createServer({
      name: 'seams',
      version: '1.0.0',
      configSources: quiet,
      plugins: [
        definePlugin({
          name: 'shared-state',
          setup(scope) {
            scope.provide(CoreServices.changeBus, bus);
            scope.provide(CoreServices.taskStore, store);
          },
        }),
        definePlugin({
          name: 'tools',
          setup(scope) {
            scope.resources.add({ uri: 'test://r', name: 'r', read: () => 'r' });
            scope.tools.add({ name: 'job', description: 'a task tool', taskSupport: 'optional', handler: () => 'ok' });
          },
        }),
      ],
    });
    await server.start();
    expect(server.changeBus).toBe(bus);
    const heard: ServerChange[] = [];
    server.onChange((change) => heard.push(change));

    // A change made here is published, not delivered directly: listeners hear it when it comes back.
    server.tools.add({ name: 'late', description: 'added at run time', handler: () => 'late' });
    server.resources.notifyUpdated('test://r');
    expect(bus.published).toEqual([{ kind: 'tools_list_changed' }, { kind: 'resource_updated', uri: 'test://r' }]);
    expect(heard).toEqual([]);

    // What arrives (from any instance) reaches the listeners, with this process's own subscribers.
    server.resources.subscribe('test://r', 'session-1');
    bus.arrive({ kind: 'resource_updated', uri: 'test://r' });
    bus.arrive({ kind: 'prompts_list_changed' });
    expect(heard).toEqual([
      { kind: 'resource-updated', uri: 'test://r', subscribers: ['session-1'] },
      { kind: 'prompts' },
    ]);

    // The task store a plugin provides is the one the Tasks extension uses.
    expect((await server.taskCalls()).runtime.store).toBe(store);
    await server.close({ graceMs: 0 });
  });

  it('without a provider the bus is in memory and delivers at once, as a single process always did', async () => {
    const server = createServer({ name: 'single', version: '1.0.0', configSources: quiet, plugins: [] });
    await server.start();
    const heard: ServerChange[] = [];
    server.onChange((change) => heard.push(change));
    server.tools.add({ name: 'late', description: 'added at run time', handler: () => 'late' });
    expect(heard).toEqual([{ kind: 'tools' }]);
    await server.close({ graceMs: 0 });
  });
});
