import type { TrellisServer } from '@trellis/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERAS, startFixtures, textOf, withClient } from './helpers.js';

const TOOLS = [
  'test_simple_text',
  'test_image_content',
  'test_audio_content',
  'test_embedded_resource',
  'test_multiple_content_types',
  'test_tool_with_logging',
  'test_error_handling',
  'test_tool_with_progress',
  'test_sampling',
  'test_elicitation',
  'test_elicitation_sep1034_defaults',
  'test_elicitation_sep1330_enums',
  'json_schema_2020_12_tool',
  'test_reconnection',
  'test_missing_capability',
  'test_streaming_elicitation',
  'test_logging_tool',
  'test_custom_header',
  'test_input_required_result_elicitation',
  'test_input_required_result_sampling',
  'test_input_required_result_list_roots',
  'test_input_required_result_request_state',
  'test_input_required_result_multiple_inputs',
  'test_input_required_result_multi_round',
  'test_input_required_result_tampered_state',
  'test_input_required_result_capabilities',
  'test_dynamic_tool',
  'test_trigger_tool_change',
  'test_trigger_prompt_change',
  'test_trigger_resource_update',
  'test_wait_for_cancel',
  // The tasks-* scenarios (the Tasks extension).
  'greet',
  'slow_compute',
  'failing_job',
  'protocol_error_job',
  'confirm_delete',
  'multi_input',
  'test_tool_with_task',
  'test_rerunnable_compute',
];
const PROMPTS = [
  'test_dynamic_prompt',
  'test_simple_prompt',
  'test_prompt_with_arguments',
  'test_prompt_with_embedded_resource',
  'test_prompt_with_image',
  'test_input_required_result_prompt',
];
const PNG_SIGNATURE = '89504e470d0a1a0a';

let server: TrellisServer;
beforeAll(async () => {
  server = await startFixtures();
});
afterAll(async () => {
  await server.close({ graceMs: 100 });
});

describe.each(ERAS)('the conformance catalogue (%s)', (era) => {
  it('lists exactly the names the suites call, each tool and prompt with a description', async () => {
    await withClient(server, { era }, async (client) => {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...TOOLS].sort());
      for (const tool of tools) expect(tool.description, tool.name).toBeTruthy();
      const { prompts } = await client.listPrompts();
      expect(prompts.map((p) => p.name).sort()).toEqual([...PROMPTS].sort());
      for (const prompt of prompts) expect(prompt.description, prompt.name).toBeTruthy();
      const { resources } = await client.listResources();
      expect(resources.map((r) => r.uri)).toEqual(
        expect.arrayContaining(['test://static-text', 'test://static-binary', 'test://watched-resource']),
      );
      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('test://template/{id}/data');
    });
  });

  it('keeps the JSON Schema 2020-12 keywords and the x-mcp-header annotation', async () => {
    await withClient(server, { era }, async (client) => {
      const { tools } = await client.listTools();
      const schema = tools.find((t) => t.name === 'json_schema_2020_12_tool')!.inputSchema as Record<string, unknown>;
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.additionalProperties).toBe(false);
      expect(schema.$defs).toMatchObject({
        address: { type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } },
      });
      expect(schema.properties).toMatchObject({ address: { $ref: '#/$defs/address' } });
      const header = tools.find((t) => t.name === 'test_custom_header')!.inputSchema as {
        properties: Record<string, Record<string, unknown>>;
      };
      expect(header.properties.region).toMatchObject({ type: 'string', 'x-mcp-header': 'Region' });
      expect(schema.$defs).toMatchObject({ address: { $anchor: 'addressDef' } });
      expect(schema).toMatchObject({
        allOf: [{ anyOf: expect.any(Array) }],
        if: expect.any(Object),
        then: { required: ['phone'] },
        else: { required: ['email'] },
      });
      const ok = await client.callTool({
        name: 'json_schema_2020_12_tool',
        arguments: { name: 'Ada', address: { city: 'London' }, email: 'a@b.c' },
      });
      expect(ok.isError).toBeFalsy();
      const extra = await client.callTool({
        name: 'json_schema_2020_12_tool',
        arguments: { email: 'a@b.c', nickname: 'x' },
      });
      expect(extra.isError).toBe(true);
      const noPhone = await client.callTool({
        name: 'json_schema_2020_12_tool',
        arguments: { contactMethod: 'phone', email: 'a@b.c' },
      });
      expect(textOf(noPhone)).toContain('phone');
    });
  });

  it('answers the content tools, test_simple_text with arguments omitted', async () => {
    await withClient(server, { era }, async (client) => {
      expect(textOf(await client.callTool({ name: 'test_simple_text' }))).toBe(
        'This is a simple text response for testing.',
      );
      const imageResult = await client.callTool({ name: 'test_image_content', arguments: {} });
      expect(imageResult.content).toEqual([{ type: 'image', data: expect.any(String), mimeType: 'image/png' }]);
      const png = Buffer.from((imageResult.content as { data: string }[])[0]!.data, 'base64');
      expect(png.subarray(0, 8).toString('hex')).toBe(PNG_SIGNATURE);
      const audioResult = await client.callTool({ name: 'test_audio_content', arguments: {} });
      expect(audioResult.content).toEqual([{ type: 'audio', data: expect.any(String), mimeType: 'audio/wav' }]);
      const embedded = await client.callTool({ name: 'test_embedded_resource', arguments: {} });
      expect(embedded.content).toEqual([
        {
          type: 'resource',
          resource: {
            uri: 'test://embedded-resource',
            mimeType: 'text/plain',
            text: 'This is an embedded resource content.',
          },
        },
      ]);
      const mixed = await client.callTool({ name: 'test_multiple_content_types', arguments: {} });
      expect((mixed.content as { type: string }[]).map((c) => c.type)).toEqual(['text', 'image', 'resource']);
      expect((mixed.content as { resource?: { uri: string; mimeType: string } }[])[2]!.resource).toMatchObject({
        uri: 'test://mixed-content-resource',
        mimeType: 'application/json',
      });
    });
  });

  it('answers test_error_handling with an isError result, not a protocol error', async () => {
    await withClient(server, { era }, async (client) => {
      const result = await client.callTool({ name: 'test_error_handling', arguments: {} });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toBe('This tool intentionally returns an error for testing');
    });
  });

  it('reports progress 0, 50, 100 of 100 when the client asks for it', async () => {
    await withClient(server, { era }, async (client) => {
      const seen: number[] = [];
      const result = await client.callTool(
        { name: 'test_tool_with_progress', arguments: {} },
        { onprogress: (p) => seen.push(p.progress) },
      );
      expect(result.isError).toBeFalsy();
      expect(seen).toEqual([0, 50, 100]);
    });
  });

  it('reads the resources and the template', async () => {
    await withClient(server, { era }, async (client) => {
      const textRead = await client.readResource({ uri: 'test://static-text' });
      expect(textRead.contents[0]).toMatchObject({
        uri: 'test://static-text',
        mimeType: 'text/plain',
        text: 'This is the content of the static text resource.',
      });
      const binary = await client.readResource({ uri: 'test://static-binary' });
      expect(binary.contents[0]).toMatchObject({
        uri: 'test://static-binary',
        mimeType: 'image/png',
        blob: expect.any(String),
      });
      const templated = await client.readResource({ uri: 'test://template/123/data' });
      expect(JSON.parse((templated.contents[0] as { text: string }).text)).toEqual({
        id: '123',
        templateTest: true,
        data: 'Data for ID: 123',
      });
      const watched = await client.readResource({ uri: 'test://watched-resource' });
      expect(watched.contents[0]).toMatchObject({ text: 'Watched resource content' });
      await expect(client.readResource({ uri: 'test://no-such-thing' })).rejects.toMatchObject({ code: -32602 });
    });
  });

  it('gets the prompts and completes arg1', async () => {
    await withClient(server, { era }, async (client) => {
      const simple = await client.getPrompt({ name: 'test_simple_prompt' });
      expect(simple.messages).toEqual([
        { role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } },
      ]);
      const withArgs = await client.getPrompt({
        name: 'test_prompt_with_arguments',
        arguments: { arg1: 'testValue1', arg2: 'testValue2' },
      });
      expect(JSON.stringify(withArgs.messages)).toContain('testValue1');
      expect(JSON.stringify(withArgs.messages)).toContain('testValue2');
      const embedded = await client.getPrompt({
        name: 'test_prompt_with_embedded_resource',
        arguments: { resourceUri: 'test://example-resource' },
      });
      expect(embedded.messages[0]!.content).toMatchObject({
        type: 'resource',
        resource: { uri: 'test://example-resource' },
      });
      const withImage = await client.getPrompt({ name: 'test_prompt_with_image' });
      expect(withImage.messages[0]!.content).toMatchObject({
        type: 'image',
        mimeType: 'image/png',
        data: expect.any(String),
      });
      const completion = await client.complete({
        ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
        argument: { name: 'arg1', value: 'test' },
      });
      expect(completion.completion.values).toEqual(expect.arrayContaining(['test', 'testValue1']));
    });
  });
});

describe('the older protocol only', () => {
  it('sends three log messages during test_tool_with_logging after logging/setLevel', async () => {
    await withClient(server, { era: 'legacy' }, async (client) => {
      const messages: unknown[] = [];
      client.setNotificationHandler('notifications/message', (n) => {
        messages.push(n.params.data);
      });
      await client.setLoggingLevel('debug');
      const result = await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
      expect(textOf(result)).toBe('Tool with logging executed successfully');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(messages).toEqual(['Tool execution started', 'Tool processing data', 'Tool execution completed']);
    });
  });

  it('announces list changes when the trigger tools run', async () => {
    await withClient(server, { era: 'legacy' }, async (client) => {
      const seen: string[] = [];
      client.setNotificationHandler('notifications/tools/list_changed', () => {
        seen.push('tools');
      });
      client.setNotificationHandler('notifications/prompts/list_changed', () => {
        seen.push('prompts');
      });
      expect(textOf(await client.callTool({ name: 'test_trigger_tool_change', arguments: {} }))).toBe(
        'The tool list changed',
      );
      expect(textOf(await client.callTool({ name: 'test_trigger_prompt_change', arguments: {} }))).toBe(
        'The prompt list changed',
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(seen).toContain('tools');
      expect(seen).toContain('prompts');
      expect((await client.listTools()).tools.map((t) => t.name)).toContain('test_dynamic_tool');
    });
  });

  it('subscribes to and unsubscribes from the watched resource', async () => {
    await withClient(server, { era: 'legacy' }, async (client) => {
      await expect(client.subscribeResource({ uri: 'test://watched-resource' })).resolves.toBeDefined();
      await expect(client.unsubscribeResource({ uri: 'test://watched-resource' })).resolves.toBeDefined();
    });
  });

  it('announces an update of the watched resource to its subscribers when test_trigger_resource_update runs', async () => {
    await withClient(server, { era: 'legacy' }, async (client) => {
      const updated: string[] = [];
      client.setNotificationHandler('notifications/resources/updated', (n) => {
        updated.push(n.params.uri);
      });
      await client.subscribeResource({ uri: 'test://watched-resource' });
      expect(textOf(await client.callTool({ name: 'test_trigger_resource_update', arguments: {} }))).toBe(
        'test://watched-resource updated',
      );
      await expect.poll(() => updated).toEqual(['test://watched-resource']);
    });
  });
});
