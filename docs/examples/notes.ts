import { resourceMessage, user } from '@trellis/prompts';
import { definePlugin, ResourceNotFoundError } from '@trellis/server';
import { z } from 'zod';

/** Notes kept in memory: a resource template, completion, a change notification and a prompt. */
export const notes = (initial: Record<string, string> = {}) =>
  definePlugin({
    name: 'notes',
    setup(scope) {
      const store = new Map(Object.entries(initial));

      scope.resources.template({
        uriTemplate: 'notes://{id}',
        name: 'note',
        description: 'A note, by id',
        mimeType: 'text/markdown',
        complete: { id: (typed) => [...store.keys()].filter((id) => id.startsWith(typed)) },
        list: () => [...store.keys()].map((id) => ({ uri: `notes://${id}`, name: `note ${id}` })),
        read: (uri, { id }) => {
          const note = store.get(String(id));
          if (note === undefined) throw new ResourceNotFoundError(uri);
          return note;
        },
      });

      scope.tools.add({
        name: 'write_note',
        description: 'Creates or replaces a note',
        input: z.object({ id: z.string().regex(/^[a-z0-9-]+$/), text: z.string().max(10_000) }),
        handler: ({ id, text }) => {
          store.set(id, text);
          scope.resources.notifyUpdated(`notes://${id}`); // subscribed clients hear of it
          return `Saved note ${id}`;
        },
      });

      scope.prompts.add({
        name: 'summarize_note',
        description: 'Asks the model to summarize one note',
        arguments: z.object({ id: z.string().describe('The note to summarize') }),
        complete: { id: (typed) => [...store.keys()].filter((id) => id.startsWith(typed)) },
        get: ({ id }) => [
          resourceMessage(`notes://${id}`, store.get(id) ?? '', 'text/markdown'),
          user('Summarize the note above in three bullet points.'),
        ],
      });
    },
  });
