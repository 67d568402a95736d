import { definePlugin, image } from '@trellis/server';
import { z } from 'zod';
import { PNG_1X1 } from './assets.js';

const ARG1_VALUES = ['test', 'testValue1', 'test-completion', 'alpha', 'beta'];

/**
 * The prompts of the conformance suite: a simple one, one with arguments (and
 * completion for `arg1`), one embedding a resource and one with an image.
 */
export function conformancePrompts() {
  return definePlugin({
    name: 'conformance-prompts',
    setup(scope) {
      scope.prompts.add({
        name: 'test_simple_prompt',
        description: 'A simple prompt without arguments',
        get: () => ({
          messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }],
        }),
      });
      scope.prompts.add({
        name: 'test_prompt_with_arguments',
        description: 'A prompt with required arguments',
        arguments: z.object({
          arg1: z.string().describe('First test argument'),
          arg2: z.string().describe('Second test argument'),
        }),
        complete: { arg1: (value) => ARG1_VALUES.filter((v) => v.startsWith(value)) },
        get: ({ arg1, arg2 }) => ({
          messages: [
            { role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } },
          ],
        }),
      });
      scope.prompts.add({
        name: 'test_prompt_with_embedded_resource',
        description: 'A prompt that includes an embedded resource',
        arguments: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }),
        get: ({ resourceUri }) => ({
          messages: [
            {
              role: 'user',
              content: {
                type: 'resource',
                resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' },
              },
            },
            { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
          ],
        }),
      });
      scope.prompts.add({
        name: 'test_prompt_with_image',
        description: 'A prompt that includes image content',
        get: () => ({
          messages: [
            { role: 'user', content: image(PNG_1X1, 'image/png') },
            { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
          ],
        }),
      });
    },
  });
}
