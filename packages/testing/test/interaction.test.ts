import {
  acceptedContent,
  definePlugin,
  inputRequired,
  MissingRequiredClientCapabilityError,
  type TrellisServer,
} from '@trellis/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startServer, textOf, withClient } from './helpers.js';

let running: TrellisServer | undefined;
afterEach(async () => {
  await running?.close({ graceMs: 100 });
  running = undefined;
});

const NAME_SCHEMA = { type: 'object' as const, properties: { name: { type: 'string' as const } }, required: ['name'] };

const interactive = () =>
  definePlugin({
    name: 'interactive',
    setup(scope) {
      scope.tools.add({
        name: 'greet_push',
        interactive: true,
        description: 'Asks the user for a name with a server-to-client request',
        handler: async (_args, ctx) => {
          const answer = await ctx.elicit({ message: 'Your name?', requestedSchema: NAME_SCHEMA });
          return answer.action === 'accept' ? `Hello, ${String(answer.content?.name)}!` : `declined: ${answer.action}`;
        },
      });
      scope.tools.add({
        name: 'summarise_push',
        interactive: true,
        description: 'Asks the client model to summarise',
        input: z.object({ text: z.string() }),
        handler: async ({ text }, ctx) => {
          const reply = await ctx.sample({
            messages: [{ role: 'user', content: { type: 'text', text: `Summarise: ${text}` } }],
            maxTokens: 50,
          });
          return `model said: ${(reply.content as { text?: string }).text}`;
        },
      });
      scope.tools.add({
        name: 'greet',
        interactive: true,
        description: 'Asks the user for a name (input-required style, both protocols)',
        handler: (_args, ctx) => {
          const answer = acceptedContent(ctx.inputResponses, 'name') as { name?: string } | undefined;
          if (answer?.name) return `Hello, ${answer.name}!`;
          return inputRequired({
            inputRequests: { name: inputRequired.elicit({ message: 'Your name?', requestedSchema: NAME_SCHEMA }) },
          });
        },
      });
      scope.tools.add({
        name: 'needs_sampling',
        description: 'Needs the sampling capability',
        handler: (_args, ctx) => {
          if (!ctx.clientCapabilities?.sampling)
            throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { sampling: {} } });
          return 'client can sample';
        },
      });
      scope.tools.add({
        name: 'chatty',
        description: 'Logs to the client at three levels',
        handler: async (_args, ctx) => {
          await ctx.clientLog('debug', 'debug detail');
          await ctx.clientLog('info', 'info detail');
          await ctx.clientLog('error', 'error detail');
          return 'logged';
        },
      });
    },
  });

describe('elicitation and sampling, request-from-server style (older protocol)', () => {
  it('asks the user through a client that supports elicitation', async () => {
    const { server } = await startServer([interactive()]);
    running = server;
    await withClient(server, { era: 'legacy', capabilities: { elicitation: { form: {} } } }, async (client) => {
      client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
      expect(textOf(await client.callTool({ name: 'greet_push', arguments: {} }))).toBe('Hello, Ada!');
    });
  });

  it('answers a clear isError when the client does not support it', async () => {
    const { server } = await startServer([interactive()]);
    running = server;
    await withClient(server, { era: 'legacy' }, async (client) => {
      const result = await client.callTool({ name: 'greet_push', arguments: {} });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('did not declare the elicitation capability');
      const sampled = await client.callTool({ name: 'summarise_push', arguments: { text: 'x' } });
      expect(sampled.isError).toBe(true);
      expect(textOf(sampled)).toContain('sampling capability');
    });
  });

  it('asks the client model through sampling', async () => {
    const { server } = await startServer([interactive()]);
    running = server;
    await withClient(server, { era: 'legacy', capabilities: { sampling: {} } }, async (client) => {
      client.setRequestHandler('sampling/createMessage', async (request) => ({
        role: 'assistant',
        model: 'test-model',
        content: {
          type: 'text',
          text: `summary of ${(request.params.messages[0]!.content as { text: string }).text.length} chars`,
        },
      }));
      expect(textOf(await client.callTool({ name: 'summarise_push', arguments: { text: 'hello' } }))).toBe(
        'model said: summary of 16 chars',
      );
    });
  });

  it('on 2026-07-28 the push style answers isError pointing at inputRequired', async () => {
    const { server } = await startServer([interactive()]);
    running = server;
    await withClient(server, { era: 'modern', capabilities: { elicitation: { form: {} } } }, async (client) => {
      const result = await client.callTool({ name: 'greet_push', arguments: {} });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toContain('inputRequired');
    });
  });
});

describe('input-required style (both protocols)', () => {
  it('on an older session the SDK turns it into an elicitation request', async () => {
    const { server } = await startServer([interactive()]);
    running = server;
    await withClient(server, { era: 'legacy', capabilities: { elicitation: { form: {} } } }, async (client) => {
      client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Grace' } }));
      expect(textOf(await client.callTool({ name: 'greet', arguments: {} }))).toBe('Hello, Grace!');
    });
  });

  it('on 2026-07-28 the client answers the input_required result and retries', async () => {
    const { server } = await startServer([interactive()]);
    running = server;
    await withClient(server, { era: 'modern', capabilities: { elicitation: { form: {} } } }, async (client) => {
      client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Linus' } }));
      expect(textOf(await client.callTool({ name: 'greet', arguments: {} }))).toBe('Hello, Linus!');
    });
  });

  it('on 2026-07-28 a capability the envelope did not declare is error -32021', async () => {
    const { server } = await startServer([interactive()]);
    running = server;
    await withClient(server, { era: 'modern' }, async (client) => {
      const error = await client.callTool({ name: 'needs_sampling', arguments: {} }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: -32021 });
    });
    await withClient(server, { era: 'modern', capabilities: { sampling: {} } }, async (client) => {
      expect(textOf(await client.callTool({ name: 'needs_sampling', arguments: {} }))).toBe('client can sample');
    });
  });
});

describe('client log notifications', () => {
  it('honour the level the client set', async () => {
    const { server } = await startServer([interactive()]);
    running = server;
    await withClient(server, { era: 'legacy' }, async (client) => {
      const seen: string[] = [];
      client.setNotificationHandler(
        'notifications/message',
        (n) => void seen.push(`${n.params.level}:${String(n.params.data)}`),
      );
      await client.setLoggingLevel('info');
      await client.callTool({ name: 'chatty', arguments: {} });
      await new Promise((r) => setTimeout(r, 30));
      expect(seen).toEqual(['info:info detail', 'error:error detail']);
    });
  });
});

describe('multi-round-trip request state', () => {
  it('signs state, verifies it on the retry, and refuses a tampered copy', async () => {
    const plugin = definePlugin({
      name: 'stateful',
      setup(scope) {
        scope.tools.add({
          name: 'two_step',
          interactive: true,
          description: 'Asks a question, remembering the first step in signed state',
          handler: async (_args, ctx) => {
            const state = ctx.requestState<{ step: number }>();
            const answer = acceptedContent(ctx.inputResponses, 'name') as { name?: string } | undefined;
            if (state?.step === 1 && answer?.name) return `step ${state.step} done for ${answer.name}`;
            return inputRequired({
              inputRequests: { name: inputRequired.elicit({ message: 'Your name?', requestedSchema: NAME_SCHEMA }) },
              requestState: await ctx.mintRequestState({ step: 1 }),
            });
          },
        });
      },
    });
    const { server } = await startServer([plugin]);
    running = server;
    await withClient(server, { era: 'modern', capabilities: { elicitation: { form: {} } } }, async (client) => {
      client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Ada' } }));
      expect(textOf(await client.callTool({ name: 'two_step', arguments: {} }))).toBe('step 1 done for Ada');
    });
    const minted = await server.mintRequestState({ step: 1 });
    const tampered = `${minted.slice(0, -2)}xx`;
    await withClient(server, { era: 'modern', capabilities: { elicitation: { form: {} } } }, async (client) => {
      const error = await client
        .callTool({
          name: 'two_step',
          arguments: {},
          inputResponses: { name: { action: 'accept', content: { name: 'Eve' } } },
          requestState: tampered,
        } as never)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: -32602 });
    });
  });
});
