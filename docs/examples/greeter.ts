import { definePlugin, ToolError } from '@trellis/server';
import { z } from 'zod';

/** A plugin is a plain value made by a function; nothing runs until a server starts it. */
export const greeter = () =>
  definePlugin({
    name: 'greeter',
    // Keys are environment variable names; each also gets a flag (--greeting) and a line in --help.
    config: z.object({ GREETING: z.string().default('Hello') }),
    setup(scope) {
      scope.tools.add({
        name: 'greet',
        description: 'Greets someone by name',
        input: z.object({ name: z.string().min(1).describe('Who to greet') }),
        output: z.object({ greeting: z.string() }),
        annotations: { readOnlyHint: true },
        handler: ({ name }, ctx) => {
          // A ToolError's message reaches the model as an isError result it can act on.
          if (name.trim().toLowerCase() === 'nobody')
            throw new ToolError('There is nobody to greet: give a person’s name.');
          ctx.log.info({ name }, 'greeting'); // stderr, JSON, with the request id
          return { structuredContent: { greeting: `${scope.config.GREETING}, ${name}!` } };
        },
      });
    },
  });
