import {
  isInputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  type GetPromptResult,
  type InputRequiredResult,
  type ListPromptsResult,
  type Prompt,
} from '@modelcontextprotocol/server';
import { formatProblems } from '@trellis/tools';
import type { z } from 'zod';
import { parseArguments, promptArguments } from './arguments.js';
import {
  assertPageSize,
  capCompletions,
  paginate,
  type Completer,
  type CompletionContext,
  type CompletionValues,
} from '@trellis/resources';
import { PromptNameClashError, type AnyPromptSpec, type PromptSpec } from './define.js';

interface RegisteredPrompt<Ctx> {
  spec: AnyPromptSpec<Ctx>;
  owner: string;
  listing: Prompt;
}

export interface PromptRegistryOptions {
  /** Prompts per page of `prompts/list`; default 100. */
  pageSize?: number;
}

/** What `get` answers: the prompt's messages, or an `input_required` result the prompt returned. */
export type PromptGetResult = GetPromptResult | InputRequiredResult;

/** The most values one completion answer carries (the spec's limit). */

/**
 * The prompts of one server: built once, shared by every session and request.
 * Arguments are validated against each prompt's zod object; bad arguments are
 * an invalid-params error naming every bad argument and what was expected.
 * @example
 * const prompts = new PromptRegistry<RequestContext>();
 * prompts.add({
 *   name: 'review', description: 'Review a diff',
 *   arguments: z.object({ diff: z.string().describe('The unified diff') }),
 *   get: ({ diff }) => [user(`Review this diff:\n${diff}`)],
 * }, 'code-review');
 */
export class PromptRegistry<Ctx extends { signal: AbortSignal }> {
  readonly #prompts = new Map<string, RegisteredPrompt<Ctx>>();
  readonly #listeners = new Set<() => void>();
  readonly #pageSize: number;

  constructor(options: PromptRegistryOptions = {}) {
    this.#pageSize = assertPageSize(options.pageSize ?? 100);
  }

  /** Registers a prompt; a name already taken throws `PromptNameClashError` naming both owners. */
  add<Args extends z.ZodObject | undefined = undefined>(spec: PromptSpec<Args, Ctx>, owner = 'app'): void {
    if (typeof spec.name !== 'string' || spec.name.trim() === '') {
      throw new TypeError(`prompt name ${JSON.stringify(spec.name)} is invalid: use a non-empty string`);
    }
    const existing = this.#prompts.get(spec.name);
    if (existing) throw new PromptNameClashError(spec.name, existing.owner, owner);
    if (typeof spec.description !== 'string' || spec.description.trim() === '') {
      throw new TypeError(`prompt "${spec.name}" needs a description: clients show it to the user`);
    }
    const args = promptArguments(spec.name, spec.arguments);
    for (const name of Object.keys(spec.complete ?? {})) {
      if (!args.some((a) => a.name === name)) {
        throw new TypeError(
          `prompt "${spec.name}": complete.${name} names no argument (its arguments: ${args.map((a) => a.name).join(', ') || 'none'})`,
        );
      }
    }
    const listing: Prompt = {
      name: spec.name,
      ...(spec.title !== undefined && { title: spec.title }),
      description: spec.description,
      ...(args.length > 0 && { arguments: args }),
      ...(spec.icons && { icons: spec.icons }),
      ...(spec._meta && { _meta: spec._meta }),
    };
    this.#prompts.set(spec.name, { spec: spec as AnyPromptSpec<Ctx>, owner, listing });
    this.#changed();
  }

  /** Removes a prompt; returns whether it was there. */
  remove(name: string): boolean {
    const removed = this.#prompts.delete(name);
    if (removed) this.#changed();
    return removed;
  }

  has(name: string): boolean {
    return this.#prompts.has(name);
  }

  ownerOf(name: string): string | undefined {
    return this.#prompts.get(name)?.owner;
  }

  get size(): number {
    return this.#prompts.size;
  }

  /** One page of `prompts/list`, in registration order. */
  list(cursor?: string): ListPromptsResult {
    const page = paginate(
      [...this.#prompts.values()].map((p) => p.listing),
      cursor,
      this.#pageSize,
      'prompts/list',
    );
    return { prompts: page.items, ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) };
  }

  /**
   * Runs one `prompts/get`. An unknown prompt, and arguments that do not fit
   * the prompt, are invalid-params errors; the message names every bad
   * argument and what was expected. An `input_required` result is passed through.
   */
  async get(name: string, rawArgs: unknown, ctx: Ctx): Promise<PromptGetResult> {
    const prompt = this.#prompts.get(name);
    if (!prompt) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${name}`, { prompt: name });
    const parsed = parseArguments(prompt.spec.arguments as z.ZodObject | undefined, rawArgs);
    if (!parsed.success) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Invalid arguments for prompt "${name}": ${formatProblems(parsed.problems)}`,
        {
          prompt: name,
          problems: parsed.problems,
        },
      );
    }
    const returned = await prompt.spec.get(parsed.data, ctx);
    if (isInputRequiredResult(returned)) return returned;
    if (Array.isArray(returned)) return { messages: returned };
    return returned as GetPromptResult;
  }

  /**
   * Completes one argument of a prompt (`completion/complete` with a
   * `ref/prompt`). An unknown prompt or argument is an invalid-params error;
   * an argument without a completer gets no values.
   */
  async complete(
    name: string,
    argName: string,
    value: string,
    context: CompletionContext,
    ctx: Ctx,
  ): Promise<CompletionValues> {
    const prompt = this.#prompts.get(name);
    if (!prompt) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${name}`, { prompt: name });
    const names = (prompt.listing.arguments ?? []).map((a) => a.name);
    if (!names.includes(argName)) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Prompt "${name}" has no argument "${argName}" (its arguments: ${names.join(', ') || 'none'})`,
        {
          prompt: name,
          argument: argName,
        },
      );
    }
    const completer = (prompt.spec.complete as Record<string, Completer<Ctx> | undefined> | undefined)?.[argName];
    if (!completer) return { values: [] };
    return capCompletions(await completer(value, context, ctx));
  }

  /** Called after every add or remove (for `notifications/prompts/list_changed`). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}
