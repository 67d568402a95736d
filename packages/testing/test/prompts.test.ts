import { definePlugin, type TrellisServer } from '@trellis/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ERAS, startServer, withClient } from './helpers.js';

let running: TrellisServer | undefined;
afterEach(async () => {
  await running?.close({ graceMs: 100 });
  running = undefined;
});

const LANGUAGES = ['python', 'typescript', 'rust', 'go'];

const reviewPrompts = () =>
  definePlugin({
    name: 'review',
    setup(scope) {
      scope.prompts.add({
        name: 'code_review',
        description: 'Review code for bugs and style',
        arguments: z.object({
          language: z.string().min(1).describe('Programming language'),
          code: z.string().min(1).describe('The code to review'),
          focus: z.string().optional().describe('What to focus on'),
        }),
        complete: { language: (value) => LANGUAGES.filter((l) => l.startsWith(value)) },
        get: ({ language, code, focus }) => [
          {
            role: 'user',
            content: { type: 'text', text: `Review this ${language} code${focus ? ` for ${focus}` : ''}:\n${code}` },
          },
          {
            role: 'user',
            content: {
              type: 'resource',
              resource: { uri: 'style://guide', mimeType: 'text/plain', text: 'Prefer clarity.' },
            },
          },
          { role: 'user', content: { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' } },
        ],
      });
    },
  });

describe.each(ERAS)('prompts over the %s protocol', (era) => {
  it('lists prompts with their arguments', async () => {
    const { server } = await startServer([reviewPrompts()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const { prompts } = await client.listPrompts();
      expect(prompts).toEqual([
        expect.objectContaining({
          name: 'code_review',
          description: 'Review code for bugs and style',
          arguments: [
            { name: 'language', description: 'Programming language', required: true },
            { name: 'code', description: 'The code to review', required: true },
            { name: 'focus', description: 'What to focus on', required: false },
          ],
        }),
      ]);
    });
  });

  it('gets messages with text, an embedded resource and an image', async () => {
    const { server } = await startServer([reviewPrompts()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const { messages } = await client.getPrompt({
        name: 'code_review',
        arguments: { language: 'python', code: 'print(1)' },
      });
      expect(messages.map((m) => m.content.type)).toEqual(['text', 'resource', 'image']);
      expect((messages[0]!.content as { text: string }).text).toContain('Review this python code');
    });
  });

  it('names every missing or bad argument in an invalid-params error', async () => {
    const { server } = await startServer([reviewPrompts()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const error = (await client
        .getPrompt({ name: 'code_review', arguments: { language: '' } })
        .catch((e: unknown) => e)) as { code: number; message: string };
      expect(error.code).toBe(-32602);
      expect(error.message).toContain('language');
      expect(error.message).toContain('code');
      await expect(client.getPrompt({ name: 'nope', arguments: {} })).rejects.toMatchObject({ code: -32602 });
    });
  });

  it('completes argument values', async () => {
    const { server } = await startServer([reviewPrompts()]);
    running = server;
    await withClient(server, { era }, async (client) => {
      const { completion } = await client.complete({
        ref: { type: 'ref/prompt', name: 'code_review' },
        argument: { name: 'language', value: 'ty' },
      });
      expect(completion.values).toEqual(['typescript']);
    });
  });
});
