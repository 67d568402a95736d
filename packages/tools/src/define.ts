import type {
  CallToolResult,
  ContentBlock,
  Icon,
  InputRequiredResult,
  ToolAnnotations,
} from '@modelcontextprotocol/server';
import type { z } from 'zod';

/** The arguments a handler receives: the parsed input, or an empty object for a tool without input. */
export type ToolArgs<Input> = Input extends z.ZodType ? z.output<Input> : Record<string, never>;

/** A tool result whose structured content is typed by the tool's output schema. */
export type ToolResult<Output> = Omit<CallToolResult, 'structuredContent' | 'content'> & {
  content?: ContentBlock[];
  structuredContent?: Output extends z.ZodType ? z.input<Output> : Record<string, unknown>;
};

/**
 * What a handler may return: a string (one text block), content blocks, a full
 * result, or an `input_required` result (2026-07-28 multi-round-trip; the SDK
 * turns it into server-to-client requests on older sessions).
 */
export type ToolReturn<Output> = string | ContentBlock[] | ToolResult<Output> | InputRequiredResult;

/** A tool as a plugin declares it. `Ctx` is the request context the server hands to handlers. */
export interface ToolSpec<Input extends z.ZodType | undefined, Output extends z.ZodType | undefined, Ctx> {
  /** Unique name, 1–128 characters of letters, digits, `_`, `-` and `.`. */
  name: string;
  title?: string;
  /** What the tool does, for the model: clients and the conformance suite require one. */
  description: string;
  /** A zod object schema for the arguments; omit it for a tool that takes none. */
  input?: Input;
  /**
   * A raw JSON Schema (2020-12) for the arguments, sent to clients as written and
   * validated with the SDK's JSON Schema validator — for schemas zod cannot
   * express (`if`/`then`, `$anchor`). Use instead of `input`; the handler then
   * receives the arguments untyped.
   */
  inputSchema?: { type: 'object'; [key: string]: unknown };
  /** A zod object schema for `structuredContent`; results are validated against it. */
  output?: Output;
  annotations?: ToolAnnotations;
  icons?: Icon[];
  /** Aborts the handler's signal and answers an `isError` result after this long. */
  timeoutMs?: number;
  /** At most this many calls of this tool run at once; more wait in a FIFO queue. */
  concurrency?: number;
  /** How long a call may wait in that queue before it gets a "busy" result. */
  queueTimeoutMs?: number;
  /**
   * Whether a call may run as a task (the MCP Tasks extension, 2026-07-28):
   * `forbidden` (the default: always answered in its request), `optional` (the
   * server decides: a call still running after `task.detachAfterMs` becomes a
   * task), or `required` (only as a task: a request that does not declare the
   * extension gets -32021). Clients without the extension get ordinary calls
   * from `optional` tools. The handler is the same function either way.
   */
  taskSupport?: TaskSupport;
  /** How a call of this tool runs as a task. */
  task?: ToolTaskOptions;
  _meta?: Record<string, unknown>;
  /**
   * The tool may ask the client something while it runs: `ctx.elicit()`,
   * `ctx.sample()`, or an `inputRequired(...)` answer. Such calls are routed,
   * before the handler runs, to where the client can be asked (the SDK's
   * dispatch); a tool that asks without declaring it gets an `isError` result
   * naming this option.
   */
  interactive?: boolean;
  handler(args: ToolArgs<Input>, ctx: Ctx): ToolReturn<Output> | Promise<ToolReturn<Output>>;
}

/** Whether a tool may run as a task. */
export type TaskSupport = 'forbidden' | 'optional' | 'required';

export interface ToolTaskOptions {
  /** How long a task and its result are kept, from its creation (default 15 minutes). Past it, the task is cancelled and forgotten. */
  ttlMs?: number;
  /** The poll interval suggested to clients (default 1,000 ms). */
  pollIntervalMs?: number;
  /**
   * How long a call runs in its request before it becomes a task (default
   * 200 ms). An answer within that time — a result, or an `inputRequired(...)`
   * round — goes back inline; 0 makes the task before the handler runs.
   */
  detachAfterMs?: number;
  /**
   * The handler is safe to run again from the start with the same arguments
   * (its effects are idempotent). In a fleet, a task of this tool whose
   * instance vanished is then started again on a surviving instance instead of
   * ending `failed`. Default false.
   */
  rerunnable?: boolean;
}

/** Any tool spec, for code that stores tools of many shapes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyToolSpec<Ctx> = ToolSpec<any, any, Ctx>;

/**
 * An error whose message the model should see (a bad state it can act on), as
 * opposed to a bug, whose details stay in the server log.
 * @example throw new ToolError('No such user: 42. List users with `list_users` first.')
 */
export class ToolError extends Error {
  readonly code = 'TOOL_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ToolError';
  }
}

/** Two registrations of one tool name. */
export class ToolNameClashError extends Error {
  readonly code = 'TOOL_NAME_CLASH';
  constructor(
    readonly toolName: string,
    readonly existingOwner: string,
    readonly newOwner: string,
  ) {
    super(
      `tool "${toolName}" is registered by both "${existingOwner}" and "${newOwner}"; rename one or mount a plugin with a prefix`,
    );
    this.name = 'ToolNameClashError';
  }
}
