import type { Completer } from '@trellis/resources';
import type { GetPromptResult, Icon, InputRequiredResult, PromptMessage } from '@modelcontextprotocol/server';
import type { z } from 'zod';

/** The arguments `get` receives: the parsed arguments, or an empty object for a prompt without any. */
export type PromptArgs<Args> = Args extends z.ZodType ? z.output<Args> : Record<string, never>;

/**
 * What `get` may return: the messages, the messages with a description, or an
 * `input_required` result (2026-07-28 multi-round-trip), passed through untouched.
 */
export type PromptReturn =
  PromptMessage[] | Pick<GetPromptResult, 'description' | 'messages' | '_meta'> | InputRequiredResult;

type ArgumentName<Args> = Args extends z.ZodObject ? Extract<keyof z.input<Args>, string> : never;

/** A prompt as a plugin declares it. `Ctx` is the request context the server builds. */
export interface PromptSpec<Args extends z.ZodObject | undefined, Ctx> {
  name: string;
  title?: string;
  /** What the prompt is for: clients show it, and the conformance suite requires one. */
  description: string;
  /**
   * A zod object of the arguments. MCP sends prompt arguments as strings, so
   * every field must take a string (optional fields and defaults are fine);
   * `.describe()` on a field becomes its description in `prompts/list`.
   */
  arguments?: Args;
  /** Completers for argument values, keyed by argument name. */
  complete?: Partial<Record<ArgumentName<Args>, Completer<Ctx>>>;
  icons?: Icon[];
  _meta?: Record<string, unknown>;
  get(args: PromptArgs<Args>, ctx: Ctx): PromptReturn | Promise<PromptReturn>;
}

/** Any prompt spec, for code that stores prompts of many shapes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPromptSpec<Ctx> = PromptSpec<any, Ctx>;

/** Two registrations of one prompt name. */
export class PromptNameClashError extends Error {
  readonly code = 'PROMPT_NAME_CLASH';
  constructor(
    readonly promptName: string,
    readonly existingOwner: string,
    readonly newOwner: string,
  ) {
    super(
      `prompt "${promptName}" is registered by both "${existingOwner}" and "${newOwner}"; rename one or mount a plugin with a prefix`,
    );
    this.name = 'PromptNameClashError';
  }
}
