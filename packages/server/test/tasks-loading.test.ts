import { describe, expect, it, vi } from 'vitest';
import { createServer, definePlugin } from '../src/index.js';

/** Counts how often `@trellis/tasks` is loaded (vitest runs a mock factory only on import). */
const loads = vi.hoisted(() => ({ count: 0 }));
vi.mock('@trellis/tasks', async (importOriginal) => {
  loads.count += 1;
  return importOriginal();
});

const quiet = { argv: [], env: { LOG_LEVEL: 'silent' }, envFiles: [] };

describe('the Tasks extension is loaded only when a tool declares task support', () => {
  it('a server without task tools never loads @trellis/tasks; the first one with one does, once', async () => {
    const plain = createServer({
      name: 'plain',
      version: '1.0.0',
      configSources: quiet,
      plugins: [
        definePlugin({
          name: 'p',
          setup: (scope) => scope.tools.add({ name: 'hi', description: 'hi', handler: () => 'hi' }),
        }),
      ],
    });
    await plain.start();
    expect(plain.capabilities().extensions).toBeUndefined();
    await plain.close({ graceMs: 0 });
    expect(loads.count).toBe(0);

    const withTasks = createServer({
      name: 'tasks',
      version: '1.0.0',
      configSources: quiet,
      plugins: [
        definePlugin({
          name: 't',
          setup: (scope) =>
            scope.tools.add({ name: 'job', description: 'job', taskSupport: 'optional', handler: () => 'done' }),
        }),
      ],
    });
    await withTasks.start();
    expect(loads.count).toBe(1);
    const protocol = withTasks.createProtocolServer({ era: 'modern', track: false });
    expect(protocol.getCapabilities().extensions).toEqual({ 'io.modelcontextprotocol/tasks': {} });
    await withTasks.close({ graceMs: 0 });
  });
});
