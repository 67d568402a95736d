import { context, SpanKind, type Meter, type Tracer } from '@opentelemetry/api';
import type { TaskChange } from '@trellis/server';
import { ATTR, METRIC_TASKS_LIVE } from './conventions.js';

/**
 * Tasks as telemetry sees them: `trellis.tasks.live` by status (`working`,
 * `input_required`), counted from the status changes the Tasks extension
 * reports and read by the SDK only when it collects; and one short span per
 * change (`task completed`, ...), a child of what caused it — the call that
 * created the task or whose round ended, a `tasks/cancel`, a `tasks/update`.
 */
export class TaskTelemetry {
  /** The live tasks this server changed last, by id: their status. */
  readonly #live = new Map<string, 'working' | 'input_required'>();
  readonly #tracer: Tracer | undefined;

  constructor(meter: Meter, tracer: Tracer | undefined) {
    this.#tracer = tracer;
    meter
      .createObservableUpDownCounter(METRIC_TASKS_LIVE, {
        description: 'Tasks live now (working, or waiting for input), by status',
        unit: '{task}',
      })
      .addCallback((result) => {
        let working = 0;
        let waiting = 0;
        for (const status of this.#live.values()) {
          if (status === 'working') working++;
          else waiting++;
        }
        result.observe(working, { [ATTR.taskStatus]: 'working' });
        result.observe(waiting, { [ATTR.taskStatus]: 'input_required' });
      });
  }

  /** The listener the server tells of each change (`scope.observeTasks`). */
  readonly changed = (change: TaskChange): void => {
    if (change.status === 'working' || change.status === 'input_required') this.#live.set(change.taskId, change.status);
    else this.#live.delete(change.taskId);
    if (!this.#tracer) return;
    const attributes: Record<string, string> = { [ATTR.taskId]: change.taskId, [ATTR.taskStatus]: change.status };
    if (change.tool !== undefined) attributes[ATTR.toolName] = change.tool;
    this.#tracer.startSpan(`task ${change.status}`, { kind: SpanKind.INTERNAL, attributes }, context.active()).end();
  };
}
