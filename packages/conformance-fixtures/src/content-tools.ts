import { definePlugin, embeddedResource, image, audio, text, ToolError } from '@trellis/server';
import { z } from 'zod';
import { PNG_1X1, WAV_TINY, pause } from './assets.js';

/**
 * The JSON Schema 2020-12 fixture, in zod: `$defs.address` (with its `$anchor`)
 * comes from the meta id, `additionalProperties: false` from `strictObject`, and
 * the composition and conditional keywords (SEP-2106) from `.meta()`, while
 * `superRefine` enforces the same rule at call time.
 */
const address = z
  .object({ street: z.string().optional(), city: z.string().optional() })
  .meta({ id: 'address', $anchor: 'addressDef' });
const contactInput = z
  .strictObject({
    name: z.string().optional(),
    address: address.optional(),
    contactMethod: z.enum(['phone', 'email']).optional(),
    phone: z.string().optional(),
    email: z.string().optional(),
  })
  .meta({
    allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
    if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
    then: { required: ['phone'] },
    else: { required: ['email'] },
  })
  .superRefine((value, ctx) => {
    const needed = value.contactMethod === 'phone' ? 'phone' : 'email';
    if (value[needed] === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [needed],
        message: `${needed} is required when contactMethod is ${value.contactMethod ?? 'not phone'}`,
      });
  });

/**
 * The content tools of the conformance suite: text, image, audio, embedded
 * resources, mixed content, errors, logging, progress, and the JSON Schema
 * 2020-12 tool. None of the argument-free tools declares an input, so each one
 * answers `tools/call` with `arguments` omitted.
 */
export function conformanceContentTools() {
  return definePlugin({
    name: 'conformance-content-tools',
    setup(scope) {
      scope.tools.add({
        name: 'test_simple_text',
        description: 'Tests simple text content response',
        handler: () => 'This is a simple text response for testing.',
      });
      scope.tools.add({
        name: 'test_image_content',
        description: 'Tests image content response',
        handler: () => [image(PNG_1X1, 'image/png')],
      });
      scope.tools.add({
        name: 'test_audio_content',
        description: 'Tests audio content response',
        handler: () => [audio(WAV_TINY, 'audio/wav')],
      });
      scope.tools.add({
        name: 'test_embedded_resource',
        description: 'Tests embedded resource content response',
        handler: () => [
          embeddedResource('test://embedded-resource', 'This is an embedded resource content.', 'text/plain'),
        ],
      });
      scope.tools.add({
        name: 'test_multiple_content_types',
        description: 'Tests response with multiple content types (text, image, resource)',
        handler: () => [
          text('Multiple content types test:'),
          image(PNG_1X1, 'image/png'),
          embeddedResource(
            'test://mixed-content-resource',
            JSON.stringify({ test: 'data', value: 123 }),
            'application/json',
          ),
        ],
      });
      scope.tools.add({
        name: 'test_error_handling',
        description: 'Tests error response handling',
        handler: () => {
          throw new ToolError('This tool intentionally returns an error for testing');
        },
      });
      scope.tools.add({
        name: 'test_tool_with_logging',
        description: 'Tests tool that emits log messages during execution',
        handler: async (_args, ctx) => {
          await ctx.clientLog('info', 'Tool execution started');
          await pause(50, ctx.signal);
          await ctx.clientLog('info', 'Tool processing data');
          await pause(50, ctx.signal);
          await ctx.clientLog('info', 'Tool execution completed');
          return 'Tool with logging executed successfully';
        },
      });
      scope.tools.add({
        name: 'test_logging_tool',
        description: 'Emits one log message (sent only when the request asks for a log level)',
        handler: async (_args, ctx) => {
          await ctx.clientLog('info', 'test_logging_tool ran');
          return 'Logged a message at level info';
        },
      });
      scope.tools.add({
        name: 'test_tool_with_progress',
        description: 'Tests tool that reports progress notifications',
        handler: async (_args, ctx) => {
          for (const step of [0, 50, 100]) {
            await ctx.progress(step, 100, `Completed step ${step} of 100`);
            if (step !== 100) await pause(50, ctx.signal);
          }
          return 'Progress reported: 0, 50, 100 of 100';
        },
      });
      // Not called by the suites: the fleet tests cancel it through one instance while it runs on another.
      scope.tools.add({
        name: 'test_wait_for_cancel',
        description: 'Runs until the client cancels it (at most 60 s), so that a cancel can be seen to stop it',
        handler: async (_args, ctx) => {
          await pause(60_000, ctx.signal);
          return 'Not cancelled within 60 s';
        },
      });
      scope.tools.add({
        name: 'json_schema_2020_12_tool',
        description: 'Tool with JSON Schema 2020-12 features',
        input: contactInput,
        handler: (args) => `Received ${JSON.stringify(args)}`,
      });
      scope.tools.add({
        name: 'test_reconnection',
        interactive: true,
        description: 'Closes its SSE stream mid-call and answers after the client reconnects (SEP-1699)',
        handler: async (_args, ctx) => {
          ctx.sdk?.http?.closeSSE?.();
          await pause(100, ctx.signal);
          return 'Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.';
        },
      });
      scope.tools.add({
        name: 'test_custom_header',
        description: 'Echoes a region; on HTTP the argument is mirrored in the Mcp-Param-Region header (SEP-2243)',
        input: z.object({ region: z.string().min(1).describe('A region name').meta({ 'x-mcp-header': 'Region' }) }),
        handler: ({ region }) => `region=${region}`,
      });
    },
  });
}
