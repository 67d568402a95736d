import {
  fromJsonSchema,
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  type CallToolResult,
  type ContentBlock,
  type InputRequiredResult,
  type Tool,
} from '@modelcontextprotocol/server';
import {
  observeQueueWait,
  Semaphore,
  SemaphoreTimeoutError,
  TimeoutError,
  withTimeout,
  type CancelScope,
} from '@trellis/concurrency';
import { ToolCallScope } from './call-scope.js';
import type { z } from 'zod';
import { text } from './content.js';
import { ToolError, ToolNameClashError, type AnyToolSpec, type ToolReturn, type ToolTaskOptions } from './define.js';
import { describeIssues, formatProblems } from './issues.js';
import { assertToolName, toolJsonSchema, type JsonObjectSchema } from './schema.js';

interface RegisteredTool<Ctx> {
  spec: AnyToolSpec<Ctx>;
  owner: string;
  listing: Tool;
  outputSchema: JsonObjectSchema | undefined;
  limiter: Semaphore | undefined;
  /** Synchronous for zod input schemas (the common case): no promise before the handler runs. */
  validate: (raw: unknown) => ParsedArgs | Promise<ParsedArgs>;
  declaresHeaders: boolean;
  /** How the tool runs as a task, computed once at registration; `undefined` for tools that never do. */
  taskOptions: TaskOptions | undefined;
}

type TaskOptions = ToolTaskOptions & { support: 'optional' | 'required' };

type ParsedArgs = { success: true; data: unknown } | { success: false; message: string };

export interface ToolCallOptions<Ctx> {
  /** The request's scope: its signal fires on client cancel, disconnect or server shutdown. */
  scope: CancelScope;
  /** The handler's context for a scope: the request's own, or a tool call's narrower one. */
  context(scope: CancelScope): Ctx;
  /**
   * Told of every failure that is not the caller's fault, for the log:
   * `expected` is true for a tool's timeout (worth a warning, not a stack).
   */
  onError?(error: unknown, tool: string, expected?: boolean): void;
  /**
   * Calls the tool's handler as it starts, `handler(args, ctx)`: e.g. with the
   * request's trace context active while the handler runs synchronously, so
   * that its own `trace.getActiveSpan()` finds the request's span. The
   * arguments are passed along rather than closed over: no closure per call.
   */
  aroundHandler?<A, C, R>(handler: (args: A, ctx: C) => R, args: A, ctx: C): R;
  /**
   * Told once when the call has ended (its answer or failure is known, before
   * the request's scope settles): e.g. to free a slot of a wider limit, with
   * no promise link of the caller's own per call.
   */
  end?(): void;
}

/** Where `ToolRegistry.callInto` tells a call's answer: its result, or the error `call` would reject with. */
export interface ToolCallAnswer {
  resolved(result: ToolCallResult): unknown;
  rejected(error: unknown): unknown;
}

export interface ToolRegistryOptions {
  /** Queue wait for tools with a concurrency limit but no `queueTimeoutMs` of their own. */
  defaultQueueTimeoutMs?: number;
}

export type ToolCallResult = CallToolResult | InputRequiredResult;

/**
 * The tools of one server: built once, shared by every session and request.
 * Validates arguments and results, applies per-tool limits and timeouts, runs
 * each call in a task group bound to the request's signal, and turns failures
 * into `isError` results the model can read.
 */
export class ToolRegistry<Ctx> {
  readonly #tools = new Map<string, RegisteredTool<Ctx>>();
  readonly #listeners = new Set<() => void>();
  readonly #defaultQueueTimeoutMs: number;
  #listing: Tool[] | undefined;

  constructor(options: ToolRegistryOptions = {}) {
    this.#defaultQueueTimeoutMs = options.defaultQueueTimeoutMs ?? 30_000;
  }

  /** Registers a tool; a name already taken throws `ToolNameClashError` naming both owners. */
  add(spec: AnyToolSpec<Ctx>, owner = 'app'): void {
    assertToolName(spec.name);
    const existing = this.#tools.get(spec.name);
    if (existing) throw new ToolNameClashError(spec.name, existing.owner, owner);
    if (typeof spec.description !== 'string' || spec.description.trim() === '') {
      throw new TypeError(`tool "${spec.name}" needs a description: clients show it to the model`);
    }
    if (spec.concurrency !== undefined && !(Number.isInteger(spec.concurrency) && spec.concurrency > 0)) {
      throw new TypeError(`tool "${spec.name}": concurrency must be a positive integer, got ${spec.concurrency}`);
    }
    if (spec.timeoutMs !== undefined && !(spec.timeoutMs > 0)) {
      throw new TypeError(`tool "${spec.name}": timeoutMs must be a positive number, got ${spec.timeoutMs}`);
    }
    if (spec.taskSupport !== undefined && !['forbidden', 'optional', 'required'].includes(spec.taskSupport)) {
      throw new TypeError(
        `tool "${spec.name}": taskSupport must be "forbidden", "optional" or "required", got ${JSON.stringify(spec.taskSupport)}`,
      );
    }
    for (const key of ['ttlMs', 'pollIntervalMs', 'detachAfterMs'] as const) {
      const value = spec.task?.[key];
      if (value !== undefined && !(Number.isInteger(value) && value >= (key === 'detachAfterMs' ? 0 : 1))) {
        throw new TypeError(
          `tool "${spec.name}": task.${key} must be a ${key === 'detachAfterMs' ? 'non-negative' : 'positive'} integer (ms), got ${value}`,
        );
      }
    }
    if (spec.task?.rerunnable !== undefined && typeof spec.task.rerunnable !== 'boolean')
      throw new TypeError(
        `tool "${spec.name}": task.rerunnable must be true or false, got ${JSON.stringify(spec.task.rerunnable)}`,
      );
    if (spec.input && spec.inputSchema)
      throw new TypeError(`tool "${spec.name}": give either input (zod) or inputSchema (JSON Schema), not both`);
    if (spec.inputSchema && spec.inputSchema.type !== 'object')
      throw new TypeError(`tool "${spec.name}": inputSchema must have type "object"`);
    const inputSchema = spec.inputSchema ?? toolJsonSchema(spec.name, spec.input, 'input');
    const outputSchema = spec.output ? toolJsonSchema(spec.name, spec.output, 'output') : undefined;
    const listing: Tool = {
      name: spec.name,
      ...(spec.title !== undefined && { title: spec.title }),
      description: spec.description,
      inputSchema,
      ...(outputSchema && { outputSchema }),
      ...(spec.annotations && { annotations: spec.annotations }),
      ...(spec.icons && { icons: spec.icons }),
      ...(spec.taskSupport !== undefined && { execution: { taskSupport: spec.taskSupport } }),
      ...(spec._meta && { _meta: spec._meta }),
    } as Tool;
    this.#tools.set(spec.name, {
      spec,
      owner,
      listing,
      outputSchema,
      limiter: spec.concurrency ? new Semaphore(spec.concurrency) : undefined,
      validate: spec.inputSchema ? jsonSchemaValidator(spec.inputSchema) : (raw) => parseArgs(spec.input, raw),
      declaresHeaders: Object.values((inputSchema as { properties?: Record<string, unknown> }).properties ?? {}).some(
        (p) => typeof p === 'object' && p !== null && 'x-mcp-header' in p,
      ),
      taskOptions:
        spec.taskSupport === undefined || spec.taskSupport === 'forbidden'
          ? undefined
          : Object.freeze({ ...spec.task, support: spec.taskSupport }),
    });
    this.#changed();
  }

  /** Removes a tool; returns whether it was there. */
  remove(name: string): boolean {
    const removed = this.#tools.delete(name);
    if (removed) this.#changed();
    return removed;
  }

  has(name: string): boolean {
    return this.#tools.has(name);
  }

  /** The `tools/list` entry of one tool. */
  describe(name: string): Tool | undefined {
    return this.#tools.get(name)?.listing;
  }

  /** Whether the tool declared that it may ask the client (`interactive: true`). */
  isInteractive(name: string): boolean {
    return this.#tools.get(name)?.spec.interactive === true;
  }

  /** Whether the tool mirrors arguments into `Mcp-Param-*` headers (`x-mcp-header` in its input schema). */
  declaresHeaders(name: string): boolean {
    return this.#tools.get(name)?.declaresHeaders === true;
  }

  /** How a tool runs as a task; `undefined` for tools that never do. */
  taskOptionsOf(name: string): Readonly<TaskOptions> | undefined {
    return this.#tools.get(name)?.taskOptions;
  }

  /** Whether any registered tool may run as a task. */
  get hasTaskTools(): boolean {
    for (const tool of this.#tools.values()) if (tool.taskOptions) return true;
    return false;
  }

  ownerOf(name: string): string | undefined {
    return this.#tools.get(name)?.owner;
  }

  get size(): number {
    return this.#tools.size;
  }

  /** The `tools/list` entries, computed once per change. */
  list(): Tool[] {
    this.#listing ??= [...this.#tools.values()].map((t) => t.listing);
    return this.#listing;
  }

  /** Called after every add or remove (for list-changed notifications). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Runs one `tools/call`. An unknown tool is a JSON-RPC invalid-params error;
   * everything else (bad arguments, busy, timeout, handler failure) is an
   * `isError` result. Not an async function: a call in flight on a tool
   * without a limit or timeout holds one promise link here, not a suspended frame.
   */
  call(name: string, rawArgs: unknown, options: ToolCallOptions<Ctx>): Promise<ToolCallResult> {
    const tool = this.#tools.get(name);
    if (!tool) {
      options.end?.();
      return Promise.reject(
        new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`, { tool: name }),
      );
    }
    let parsed;
    try {
      parsed = tool.validate(rawArgs);
    } catch (error) {
      options.end?.();
      return Promise.reject(error);
    }
    if (parsed instanceof Promise)
      return parsed.then(
        (args) => this.#run(tool, args, options),
        (error: unknown) => {
          options.end?.();
          throw error;
        },
      );
    return this.#run(tool, parsed, options);
  }

  #run(tool: RegisteredTool<Ctx>, parsed: ParsedArgs, options: ToolCallOptions<Ctx>): Promise<ToolCallResult> {
    const { spec } = tool;
    if (!parsed.success) {
      options.end?.();
      return Promise.resolve(
        withFailureKind(
          errorResult(`Invalid arguments for tool "${spec.name}": ${parsed.message}`),
          'invalid_arguments',
        ),
      );
    }
    if (tool.limiter || spec.timeoutMs) return this.#runBounded(tool, parsed.data, options);
    return this.#start(tool, parsed.data, options).then(
      (value) => this.#ended(options, () => this.#finish(tool, value as ToolReturn<unknown>, options)),
      (error: unknown) => this.#ended(options, () => this.#failed(tool, error, options)),
    );
  }

  /**
   * `call`, with the answer told to `options.resolved` / `options.rejected`
   * instead of returned. For a tool without a limit or timeout whose
   * arguments validate synchronously (a zod schema) the handler's promise is
   * the only link: a call in flight holds no promise of the registry's or the
   * caller's. `options.end()` is told first, as with `call`.
   */
  callInto(name: string, rawArgs: unknown, options: ToolCallOptions<Ctx> & ToolCallAnswer): void {
    const tool = this.#tools.get(name);
    let parsed: ParsedArgs | Promise<ParsedArgs> | undefined;
    if (tool && !tool.limiter && !tool.spec.timeoutMs) {
      try {
        parsed = tool.validate(rawArgs);
      } catch {
        parsed = undefined; // `call` reports it
      }
    }
    if (!tool || !parsed || parsed instanceof Promise || !parsed.success) {
      this.call(name, rawArgs, options).then(
        (result) => options.resolved(result),
        (error: unknown) => options.rejected(error),
      );
      return;
    }
    this.#start(tool, parsed.data, options).then(
      (value) => this.#into(options, () => this.#finish(tool, value as ToolReturn<unknown>, options)),
      (error: unknown) => this.#into(options, () => this.#failed(tool, error, options)),
    );
  }

  /** Runs the handler in the request's own scope (a ToolCallScope the server settles, with the same task-group rules). */
  #start(tool: RegisteredTool<Ctx>, args: unknown, options: ToolCallOptions<Ctx>): Promise<unknown> {
    try {
      return Promise.resolve(runHandler(tool.spec, args, options, options.scope));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `answer()`, `options.end()`, then the answer told to `options`. */
  #into(options: ToolCallOptions<Ctx> & ToolCallAnswer, answer: () => ToolCallResult): void {
    let result: ToolCallResult;
    try {
      result = this.#ended(options, answer);
    } catch (error) {
      options.rejected(error);
      return;
    }
    options.resolved(result);
  }

  /** A tool with a concurrency limit or a timeout. */
  async #runBounded(tool: RegisteredTool<Ctx>, args: unknown, options: ToolCallOptions<Ctx>): Promise<ToolCallResult> {
    const { spec } = tool;
    const name = spec.name;
    let release: (() => void) | undefined;
    try {
      if (tool.limiter) {
        const queueTimeoutMs = spec.queueTimeoutMs ?? this.#defaultQueueTimeoutMs;
        try {
          release =
            tool.limiter.tryAcquire() ??
            (await observeQueueWait(
              `tool ${name}`,
              () => tool.limiter!.acquire({ signal: options.scope.signal, timeoutMs: queueTimeoutMs }),
              options.scope.signal,
            ));
        } catch (error) {
          if (error instanceof SemaphoreTimeoutError)
            return busyResult(`tool "${name}"`, tool.limiter.active, tool.limiter.pending, queueTimeoutMs);
          throw error;
        }
      }
      try {
        // With a timeout, the handler runs in a narrower ToolCallScope that the deadline aborts.
        const returned = spec.timeoutMs
          ? await withTimeout(
              (signal) => {
                const scope = new ToolCallScope([signal], {
                  // Told through `options`, whose method it is.
                  unobserved: (failures) =>
                    this.unobservedChildResult(name, failures, (error, tool) => options.onError?.(error, tool)),
                });
                return scope.finish(invoke(() => runHandler(spec, args, options, scope)));
              },
              { ms: spec.timeoutMs, signal: options.scope.signal, name: `tool "${name}"` },
            )
          : await runHandler(spec, args, options, options.scope);
        return this.#finish(tool, returned as ToolReturn<unknown>, options);
      } catch (error) {
        return this.#failed(tool, error, options);
      }
    } finally {
      release?.();
      options.end?.();
    }
  }

  /** `answer()`, then `options.end()` whatever happened. */
  #ended(options: ToolCallOptions<Ctx>, answer: () => ToolCallResult): ToolCallResult {
    try {
      return answer();
    } finally {
      options.end?.();
    }
  }

  #failed(tool: RegisteredTool<Ctx>, error: unknown, options: ToolCallOptions<Ctx>): ToolCallResult {
    if (options.scope instanceof ToolCallScope) options.scope.handlerFailed(error);
    return failureResult(tool.spec.name, error, options);
  }

  /**
   * The answer when children of a call's task group failed and the handler
   * never observed them: an `isError` result with a safe message (a
   * `ToolError`'s own message; anything else only in the log).
   */
  unobservedChildResult(
    name: string,
    failures: readonly unknown[],
    onError?: ToolCallOptions<Ctx>['onError'],
  ): CallToolResult {
    for (const failure of failures) if (!(failure instanceof ToolError)) onError?.(failure, name);
    const told = failures.find((failure): failure is ToolError => failure instanceof ToolError);
    if (told) return errorResult(told.message);
    return errorResult(
      `Tool "${name}" failed: a task it started failed with an internal error; the details are in the server log.`,
    );
  }

  #finish(tool: RegisteredTool<Ctx>, returned: ToolReturn<unknown>, options: ToolCallOptions<Ctx>): ToolCallResult {
    if (typeof returned === 'string') return { content: [text(returned)] };
    if (Array.isArray(returned)) return { content: returned as ContentBlock[] };
    if (isInputRequiredResult(returned)) {
      if (tool.spec.interactive === true) return returned;
      return errorResult(
        `Tool "${tool.spec.name}" answered input_required, which only tools registered with \`interactive: true\` may do (they are served where the client can be asked). This is a bug in the server.`,
      );
    }
    const result = returned as CallToolResult;
    if (tool.spec.output && !result.isError) {
      const checked = (tool.spec.output as z.ZodType).safeParse(result.structuredContent);
      if (!checked.success) {
        const problems = formatProblems(describeIssues(checked.error.issues));
        options.onError?.(
          new Error(`structured content does not match the output schema: ${problems}`),
          tool.spec.name,
        );
        return errorResult(
          `Tool "${tool.spec.name}" produced a result that does not match its output schema (${problems}). This is a bug in the server; the details are in its log.`,
        );
      }
    }
    const content = result.content ?? [];
    if (result.structuredContent !== undefined && content.length === 0) {
      // Clients that predate structured content read the text block.
      return { ...result, content: [text(JSON.stringify(result.structuredContent))] };
    }
    return { ...result, content };
  }

  #changed(): void {
    this.#listing = undefined;
    for (const listener of this.#listeners) listener();
  }
}

function jsonSchemaValidator(schema: Record<string, unknown>): (raw: unknown) => Promise<ParsedArgs> {
  const standard = fromJsonSchema(schema as never)['~standard'];
  return async (raw) => {
    const result = await standard.validate(raw ?? {});
    if (!result.issues) return { success: true, data: result.value };
    const problems = result.issues.map((issue) => ({
      path: issue.path?.length
        ? issue.path.map((p) => String(typeof p === 'object' ? p.key : p)).join('.')
        : '(arguments)',
      message: issue.message,
    }));
    return { success: false, message: formatProblems(problems) };
  };
}

function parseArgs(schema: z.ZodType | undefined, raw: unknown): ParsedArgs {
  if (schema === undefined) {
    if (raw === undefined || raw === null || (typeof raw === 'object' && !Array.isArray(raw)))
      return { success: true, data: {} };
    return { success: false, message: 'arguments must be an object' };
  }
  const result = schema.safeParse(raw ?? {});
  if (result.success) return { success: true, data: result.data };
  return { success: false, message: formatProblems(describeIssues(result.error.issues)) };
}

/** An `isError` result carrying one text block. */
export function errorResult(message: string): CallToolResult {
  return { content: [text(message)], isError: true };
}

/** Why Trellis turned a call into an `isError` result (for telemetry); a handler's own `isError` results have none. */
export type ToolFailureKind = 'invalid_arguments' | 'busy' | 'timeout' | 'cancelled' | 'internal';

const FAILURE_KIND = Symbol('trellis.toolFailureKind');

/** Marks `result` with why it failed; a non-enumerable symbol, so nothing of it reaches the wire. */
function withFailureKind<R extends object>(result: R, kind: ToolFailureKind): R {
  Object.defineProperty(result, FAILURE_KIND, { value: kind });
  return result;
}

/** Why Trellis turned this call into an `isError` result, if it did. */
export function failureKindOf(result: unknown): ToolFailureKind | undefined {
  return typeof result === 'object' && result !== null
    ? (result as { [FAILURE_KIND]?: ToolFailureKind })[FAILURE_KIND]
    : undefined;
}

/** The result a call gets when a concurrency limit's queue waited too long. */
export function busyResult(what: string, active: number, pending: number, waitedMs: number): CallToolResult {
  const retryAfterMs = Math.max(1000, Math.min(30_000, Math.round(waitedMs / 2)));
  return withFailureKind(
    {
      content: [
        text(
          `Server busy: ${what} is at its concurrency limit (${active} running, ${pending} waiting) and this call waited ${waitedMs} ms. Retry in about ${Math.ceil(retryAfterMs / 1000)} s.`,
        ),
      ],
      isError: true,
      _meta: { 'dev.trellis/retryAfterMs': retryAfterMs },
    },
    'busy',
  );
}

/** The tool's handler called with `args` and the context of `scope`, through `options.aroundHandler` when given. */
function runHandler<Ctx>(
  spec: AnyToolSpec<Ctx>,
  args: unknown,
  options: ToolCallOptions<Ctx>,
  scope: CancelScope,
): unknown {
  const ctx = options.context(scope);
  const handler = spec.handler as (args: unknown, ctx: Ctx) => unknown;
  return options.aroundHandler ? options.aroundHandler(handler, args, ctx) : handler(args, ctx);
}

function invoke<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

function failureResult<Ctx>(name: string, error: unknown, options: ToolCallOptions<Ctx>): CallToolResult {
  if (error instanceof ProtocolError) throw error;
  if (error instanceof ToolError) return errorResult(error.message);
  if (error instanceof TimeoutError && !options.scope.aborted) {
    options.onError?.(error, name, true);
    return withFailureKind(
      errorResult(`Tool "${name}" timed out: ${error.message}. Try a smaller request.`),
      'timeout',
    );
  }
  if (options.scope.aborted) {
    const reason: unknown = options.scope.reason;
    const why = reason instanceof Error && reason.message ? reason.message : 'the request was cancelled';
    return withFailureKind(errorResult(`Tool "${name}" was stopped: ${why}.`), 'cancelled');
  }
  options.onError?.(error, name);
  return withFailureKind(
    errorResult(`Tool "${name}" failed with an internal error; the details are in the server log.`),
    'internal',
  );
}
