import { context, trace, type Context } from '@opentelemetry/api';

/**
 * The trace context of the request a signal belongs to. Trellis hands every
 * piece of work it does on a request's behalf that request's signal (a
 * handler's `ctx.signal`, passed on to a query, a fetch, a worker job), so the
 * signal is what carries the request's span to the spans that work opens —
 * without an ambient `AsyncLocalStorage` context, which on Node 20 makes every
 * promise of the process pay an async hook. Signals derived from a carried one
 * (`anySignal`, `withTimeout`, a `CancelScope`) carry it too.
 *
 * The requests being served: an entry set when one starts and deleted when it
 * ends (a `Map` set and delete cost a fraction of a `WeakMap` entry, whose
 * ephemerons the garbage collector processes one by one, or of a property
 * added to an `AbortSignal`).
 */
const serving = new Map<AbortSignal, Context>();
/** Signals derived from a carried one (made only when a handler uses its signal): kept as long as the signal lives. */
const derived = new WeakMap<AbortSignal, Context>();
/** Whether anything was ever carried: until then (telemetry off) lookups cost one check. */
let carrying = false;

function carriedBy(signal: AbortSignal): Context | undefined {
  return serving.get(signal) ?? derived.get(signal);
}

/**
 * Marks `signal` as the signal of a request served under `traceContext` (its
 * span's context), until `releaseTraceContext(signal)` when it ends. Signals
 * derived from it meanwhile keep carrying the context after that.
 */
export function carryTraceContext(signal: AbortSignal, traceContext: Context): void {
  carrying = true;
  serving.set(signal, traceContext);
}

/** The request `signal` belongs to has ended (see `carryTraceContext`). */
export function releaseTraceContext(signal: AbortSignal): void {
  serving.delete(signal);
}

/** A signal made from `inputs` carries the trace context of the first input that carries one. */
export function inheritTraceContext(signal: AbortSignal, inputs: Iterable<AbortSignal | undefined>): void {
  if (!carrying) return;
  for (const input of inputs) {
    const found = input && carriedBy(input);
    if (found) {
      derived.set(signal, found);
      return;
    }
  }
}

/**
 * The parent for a span opened for work done under `signal`: the active
 * context when it holds a span (the caller's own instrumentation, or an
 * ambient context manager), else the context `signal` carries, else the
 * active one.
 * @example
 * const span = tracer.startSpan('SELECT', { kind: SpanKind.CLIENT }, traceContextOf(options.signal));
 */
export function traceContextOf(signal: AbortSignal | undefined): Context {
  const active = context.active();
  if (!carrying || signal === undefined || trace.getSpan(active) !== undefined) return active;
  return carriedBy(signal) ?? active;
}

/**
 * Runs `fn(...args)` with the trace context `signal` carries as the active one
 * (when the active one holds no span). The arguments are passed along, so a
 * hot path need not make a closure per call.
 */
export function withTraceContextOf<A extends unknown[], T>(
  signal: AbortSignal | undefined,
  fn: (...args: A) => T,
  ...args: A
): T {
  if (!carrying || signal === undefined) return fn(...args);
  const found = carriedBy(signal);
  if (!found || trace.getSpan(context.active()) !== undefined) return fn(...args);
  return context.with(found, fn, undefined, ...args);
}
