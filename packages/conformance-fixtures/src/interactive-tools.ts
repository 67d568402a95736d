import {
  definePlugin,
  inputRequired,
  inputResponse,
  MissingRequiredClientCapabilityError,
  acceptedContent,
} from '@trellis/server';
import { z } from 'zod';

const SEP1034_SCHEMA = {
  type: 'object' as const,
  properties: {
    name: { type: 'string' as const, description: 'User name', default: 'John Doe' },
    age: { type: 'integer' as const, description: 'User age', default: 30 },
    score: { type: 'number' as const, description: 'User score', default: 95.5 },
    status: {
      type: 'string' as const,
      description: 'User status',
      enum: ['active', 'inactive', 'pending'],
      default: 'active',
    },
    verified: { type: 'boolean' as const, description: 'Verification status', default: true },
  },
  required: [],
};

const SEP1330_SCHEMA = {
  type: 'object' as const,
  properties: {
    untitledSingle: {
      type: 'string' as const,
      description: 'Select one option',
      enum: ['option1', 'option2', 'option3'],
    },
    titledSingle: {
      type: 'string' as const,
      description: 'Select one option with titles',
      oneOf: [
        { const: 'value1', title: 'First Option' },
        { const: 'value2', title: 'Second Option' },
        { const: 'value3', title: 'Third Option' },
      ],
    },
    legacyEnum: {
      type: 'string' as const,
      description: 'Select one option (legacy)',
      enum: ['opt1', 'opt2', 'opt3'],
      enumNames: ['Option One', 'Option Two', 'Option Three'],
    },
    untitledMulti: {
      type: 'array' as const,
      description: 'Select multiple options',
      items: { type: 'string' as const, enum: ['option1', 'option2', 'option3'] },
    },
    titledMulti: {
      type: 'array' as const,
      description: 'Select multiple options with titles',
      items: {
        anyOf: [
          { const: 'value1', title: 'First Choice' },
          { const: 'value2', title: 'Second Choice' },
          { const: 'value3', title: 'Third Choice' },
        ],
      },
    },
  },
  required: [],
};

/** Text of the first content item of a sampling result. */
function samplingText(content: unknown): string {
  const first = Array.isArray(content) ? content[0] : content;
  const text = (first as { text?: unknown } | undefined)?.text;
  return typeof text === 'string' ? text : JSON.stringify(first);
}

/**
 * The tools that need the client: sampling and elicitation. Each is written
 * once with `inputRequired(...)`: a 2026-07-28 client answers the
 * `input_required` result and retries; on an older session the SDK's legacy
 * shim sends real `sampling/createMessage` / `elicitation/create` requests and
 * re-enters the handler with the answers.
 */
export function conformanceInteractiveTools() {
  return definePlugin({
    name: 'conformance-interactive-tools',
    setup(scope) {
      scope.tools.add({
        name: 'test_sampling',
        interactive: true,
        description: 'Tests server-initiated sampling (LLM completion request)',
        input: z.object({ prompt: z.string().describe('The prompt to send to the LLM') }),
        handler: ({ prompt }, ctx) => {
          const answer = inputResponse(ctx.inputResponses, 'sampling');
          if (answer.kind === 'sampling') return `LLM response: ${samplingText(answer.result.content)}`;
          return inputRequired({
            inputRequests: {
              sampling: inputRequired.createMessage({
                messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
                maxTokens: 100,
              }),
            },
          });
        },
      });
      scope.tools.add({
        name: 'test_elicitation',
        interactive: true,
        description: 'Tests server-initiated elicitation (user input request)',
        input: z.object({ message: z.string().describe('The message to show the user') }),
        handler: ({ message }, ctx) => {
          const answer = inputResponse(ctx.inputResponses, 'user');
          if (answer.kind === 'elicit')
            return `User response: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
          return inputRequired({
            inputRequests: {
              user: inputRequired.elicit({
                message,
                requestedSchema: {
                  type: 'object',
                  properties: {
                    username: { type: 'string', description: "User's response" },
                    email: { type: 'string', description: "User's email address" },
                  },
                  required: ['username', 'email'],
                },
              }),
            },
          });
        },
      });
      scope.tools.add({
        name: 'test_elicitation_sep1034_defaults',
        interactive: true,
        description: 'Tests elicitation with default values per SEP-1034',
        handler: (_args, ctx) => {
          const answer = inputResponse(ctx.inputResponses, 'form');
          if (answer.kind === 'elicit')
            return `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
          return inputRequired({
            inputRequests: {
              form: inputRequired.elicit({
                message: 'Please review and update the form fields with defaults',
                requestedSchema: SEP1034_SCHEMA,
              }),
            },
          });
        },
      });
      scope.tools.add({
        name: 'test_elicitation_sep1330_enums',
        interactive: true,
        description: 'Tests elicitation with enum schema improvements per SEP-1330',
        handler: (_args, ctx) => {
          const answer = inputResponse(ctx.inputResponses, 'enums');
          if (answer.kind === 'elicit')
            return `Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`;
          return inputRequired({
            inputRequests: {
              enums: inputRequired.elicit({
                message: 'Please select options from the enum fields',
                requestedSchema: SEP1330_SCHEMA as never,
              }),
            },
          });
        },
      });
      scope.tools.add({
        name: 'test_missing_capability',
        description: 'Requires the client sampling capability; without it answers -32021',
        handler: (_args, ctx) => {
          if (!ctx.clientCapabilities?.sampling)
            throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { sampling: {} } });
          return 'The client declared sampling';
        },
      });
      scope.tools.add({
        name: 'test_streaming_elicitation',
        interactive: true,
        description: 'Asks for input with an input_required result, never with a request on the response stream',
        handler: (_args, ctx) => {
          const got = acceptedContent(ctx.inputResponses, 'answer');
          if (got) return `Answer: ${JSON.stringify(got)}`;
          return inputRequired({
            inputRequests: {
              answer: inputRequired.elicit({
                message: 'Anything to add?',
                requestedSchema: { type: 'object', properties: { value: { type: 'string' } } },
              }),
            },
          });
        },
      });
    },
  });
}
