import { definePlugin, ToolError } from '@trellis/server';
import { z } from 'zod';

/**
 * The `add_numbers` tool: two numbers in, their sum as text and as structured
 * content `{ sum }`. A sum too large for a double is a tool error, not `Infinity`.
 * @example run({ name: 'calc', version: '1.0.0', plugins: [addNumbers()] });
 */
export function addNumbers() {
  return definePlugin({
    name: 'add-numbers',
    setup(scope) {
      scope.tools.add({
        name: 'add_numbers',
        title: 'Add two numbers',
        description: 'Adds two numbers and returns the sum.',
        input: z.object({
          a: z.number().describe('First number'),
          b: z.number().describe('Second number'),
        }),
        output: z.object({ sum: z.number().describe('a + b') }),
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
        handler({ a, b }) {
          const sum = a + b;
          if (!Number.isFinite(sum))
            throw new ToolError(`${a} + ${b} is too large to represent as a number; use smaller values.`);
          return { content: [{ type: 'text', text: `${a} + ${b} = ${sum}` }], structuredContent: { sum } };
        },
      });
    },
  });
}
