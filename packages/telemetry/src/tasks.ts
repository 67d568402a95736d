import { context, SpanKind, trace, type Context, type Meter, type Tracer } from '@opentelemetry/api';
import { traceContextOf } from '@trellis/concurrency';
import type { TaskChange } from '@trellis/server';
import { ATTR, METRIC_TASKS_LIVE } from './conventions.js';

/**
 * Tasks as telemetry sees them: `trellis.tasks.live` by status (`working`,
 * `input_required`), counted from the status changes the Tasks extension
 * reports and read by the SDK only when it collects; and one short span per
 * change (`task completed`, ...), a child of what caused it — a `tasks/cancel`
 * or `tasks/update` being served for the task, else the call that created it
 * (its context, carried on the call's signal, is kept while the task lives).
 */
export class TaskTelemetry {
  /** The live tasks this server changed last, by id: their status. */
  readonly #live = new Map<string, 'working' | 'input_required'>();
  readonly #tracer: Tracer | undefined;
  /** The span context of a `tasks/*` request being served, by the task it names. */
  readonly #serving = new Map<string, Context>();
  /** The span context of the call that created each live task. */
  readonly #creators = new Map<string, Context>();

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

  /** A request serving task `taskId` runs under `active` until the returned function is called. */
  serving(taskId: string, active: Context): () => void {
    this.#serving.set(taskId, active);
    return () => {
      if (this.#serving.get(taskId) === active) this.#serving.delete(taskId);
    };
  }

  /** The listener the server tells of each change (`scope.observeTasks`). */
  readonly changed = (change: TaskChange): void => {
    const id = change.taskId;
    const live = change.status === 'working' || change.status === 'input_required';
    if (live) this.#live.set(id, change.status as 'working' | 'input_required');
    else this.#live.delete(id);
    if (!this.#tracer) return;
    let parent = context.active();
    if (trace.getSpan(parent) === undefined) {
      const caused = change.cause ? traceContextOf(change.cause) : undefined;
      parent = this.#serving.get(id) ?? (caused && trace.getSpan(caused) ? caused : this.#creators.get(id)) ?? parent;
    }
    if (!live) this.#creators.delete(id);
    else if (change.cause && !this.#creators.has(id)) this.#creators.set(id, parent);
    const attributes: Record<string, string> = { [ATTR.taskId]: id, [ATTR.taskStatus]: change.status };
    if (change.tool !== undefined) attributes[ATTR.toolName] = change.tool;
    this.#tracer.startSpan(`task ${change.status}`, { kind: SpanKind.INTERNAL, attributes }, parent).end();
  };
}
