import type { ServerEventBus } from '@modelcontextprotocol/server';
import type { TaskStore } from '@trellis/tasks';
import { serviceKey } from './services.js';

/**
 * What the core keeps in this process unless a plugin provides a shared
 * implementation (the fleet plugin provides both, on PostgreSQL). The core
 * reads them once every plugin is set up; a second provider fails the start.
 * @example
 * scope.provide(CoreServices.changeBus, myBus);   // every change now goes through myBus
 */
export const CoreServices = Object.freeze({
  /**
   * The change feed: list changes and resource updates are published here, and
   * what arrives here reaches every listener in this process (older-protocol
   * sessions, stdio, `subscriptions/listen` streams through the SDK's handler,
   * which subscribes to the same bus). In memory by default.
   */
  changeBus: serviceKey<ServerEventBus>('trellis.core.change-bus'),
  /** Where task state lives when no `tasks.store` option is given. In memory by default. */
  taskStore: serviceKey<TaskStore>('trellis.core.task-store'),
});
