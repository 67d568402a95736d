import { describe, expect, it } from 'vitest';
import { ToolRegistry } from '../src/index.js';

describe('tools that may run as tasks', () => {
  it('lists taskSupport under execution and reports the task options; forbidden or absent means never a task', () => {
    const tools = new ToolRegistry();
    tools.add({ name: 'plain', description: 'd', handler: () => 'x' });
    tools.add({ name: 'never', description: 'd', taskSupport: 'forbidden', handler: () => 'x' });
    tools.add({
      name: 'maybe',
      description: 'd',
      taskSupport: 'optional',
      task: { ttlMs: 60_000, detachAfterMs: 0 },
      handler: () => 'x',
    });
    expect(tools.describe('maybe')).toMatchObject({ execution: { taskSupport: 'optional' } });
    expect(tools.describe('plain')).not.toHaveProperty('execution');
    expect(tools.taskOptionsOf('maybe')).toEqual({ support: 'optional', ttlMs: 60_000, detachAfterMs: 0 });
    expect(tools.taskOptionsOf('plain')).toBeUndefined();
    expect(tools.taskOptionsOf('never')).toBeUndefined();
    expect(tools.hasTaskTools).toBe(true);
    tools.remove('maybe');
    expect(tools.hasTaskTools).toBe(false);
  });

  it('refuses a bad taskSupport or task option at registration, naming the tool', () => {
    const tools = new ToolRegistry();
    expect(() =>
      tools.add({ name: 'a', description: 'd', taskSupport: 'sometimes' as never, handler: () => 'x' }),
    ).toThrow(/tool "a": taskSupport must be/);
    expect(() =>
      tools.add({ name: 'b', description: 'd', taskSupport: 'optional', task: { ttlMs: 0 }, handler: () => 'x' }),
    ).toThrow(/tool "b": task.ttlMs must be a positive integer/);
    expect(() =>
      tools.add({
        name: 'c',
        description: 'd',
        taskSupport: 'optional',
        task: { detachAfterMs: -1 },
        handler: () => 'x',
      }),
    ).toThrow(/tool "c": task.detachAfterMs must be a non-negative integer/);
    expect(() =>
      tools.add({
        name: 'd',
        description: 'd',
        taskSupport: 'optional',
        task: { rerunnable: 'yes' as never },
        handler: () => 'x',
      }),
    ).toThrow(/tool "d": task.rerunnable must be true or false, got "yes"/);
    tools.add({ name: 'e', description: 'd', taskSupport: 'optional', task: { rerunnable: true }, handler: () => 'x' });
    expect(tools.taskOptionsOf('e')).toEqual({ support: 'optional', rerunnable: true });
  });
});
