import type { TrellisServer } from '@trellis/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERAS, startFixtures, textOf, withClient, type TestClient } from './helpers.js';

let server: TrellisServer;
beforeAll(async () => {
  server = await startFixtures();
});
afterAll(async () => {
  await server.close({ graceMs: 100 });
});

const ALL = { sampling: {}, elicitation: { form: {} }, roots: {} };

/** A client that answers every kind of server question, recording what it was asked. */
function answerEverything(client: TestClient, declared: Record<string, unknown> = ALL) {
  const asked: { method: string; params: Record<string, unknown> }[] = [];
  if (declared.elicitation)
    client.setRequestHandler('elicitation/create', async (request) => {
      asked.push({ method: 'elicitation/create', params: request.params as never });
      const properties = Object.keys(
        (request.params as { requestedSchema?: { properties?: object } }).requestedSchema?.properties ?? {},
      );
      const content: Record<string, string | boolean> = {};
      for (const key of properties) content[key] = key === 'ok' ? true : `${key}-value`;
      return { action: 'accept', content };
    });
  if (declared.sampling)
    client.setRequestHandler('sampling/createMessage', async (request) => {
      asked.push({ method: 'sampling/createMessage', params: request.params as never });
      return { role: 'assistant', model: 'test-model', content: { type: 'text', text: 'Paris' } };
    });
  if (declared.roots)
    client.setRequestHandler('roots/list', async () => {
      asked.push({ method: 'roots/list', params: {} });
      return { roots: [{ uri: 'file:///work', name: 'work' }] };
    });
  return asked;
}

describe.each(ERAS)('sampling and elicitation written once with inputRequired (%s)', (era) => {
  it('test_sampling asks the client model', async () => {
    await withClient(server, { era, capabilities: ALL }, async (client) => {
      const asked = answerEverything(client);
      expect(
        textOf(await client.callTool({ name: 'test_sampling', arguments: { prompt: 'Capital of France?' } })),
      ).toBe('LLM response: Paris');
      expect(asked[0]).toMatchObject({
        method: 'sampling/createMessage',
        params: { maxTokens: 100, messages: [{ role: 'user', content: { type: 'text', text: 'Capital of France?' } }] },
      });
    });
  });

  it('test_elicitation asks for username and email', async () => {
    await withClient(server, { era, capabilities: ALL }, async (client) => {
      const asked = answerEverything(client);
      const result = await client.callTool({ name: 'test_elicitation', arguments: { message: 'Who are you?' } });
      expect(textOf(result)).toContain('action=accept');
      expect(asked[0]!.params).toMatchObject({
        message: 'Who are you?',
        requestedSchema: { required: ['username', 'email'] },
      });
    });
  });

  it('the SEP-1034 and SEP-1330 forms carry their defaults and enum shapes', async () => {
    await withClient(server, { era, capabilities: ALL }, async (client) => {
      const asked = answerEverything(client);
      await client.callTool({ name: 'test_elicitation_sep1034_defaults', arguments: {} });
      await client.callTool({ name: 'test_elicitation_sep1330_enums', arguments: {} });
      const defaults = (asked[0]!.params.requestedSchema as { properties: Record<string, Record<string, unknown>> })
        .properties;
      expect(defaults.name).toMatchObject({ type: 'string', default: 'John Doe' });
      expect(defaults.age).toMatchObject({ type: 'integer', default: 30 });
      expect(defaults.score).toMatchObject({ type: 'number', default: 95.5 });
      expect(defaults.status).toMatchObject({
        type: 'string',
        enum: ['active', 'inactive', 'pending'],
        default: 'active',
      });
      expect(defaults.verified).toMatchObject({ type: 'boolean', default: true });
      const enums = (asked[1]!.params.requestedSchema as { properties: Record<string, Record<string, unknown>> })
        .properties;
      expect(enums.titledSingle!.enum).toBeUndefined();
      expect(enums.legacyEnum!.enumNames).toHaveLength(3);
      expect(enums.titledMulti).toMatchObject({ type: 'array', items: { anyOf: expect.any(Array) } });
    });
  });

  it('the prompt asks for context before building its message', async () => {
    await withClient(server, { era, capabilities: ALL }, async (client) => {
      answerEverything(client);
      const prompt = await client.getPrompt({ name: 'test_input_required_result_prompt' });
      expect(prompt.messages[0]!.content).toMatchObject({ type: 'text', text: 'Prompt using context: context-value' });
    });
  });
});

describe('multi-round-trip fixtures on 2026-07-28', () => {
  const cases: [string, string][] = [
    ['test_input_required_result_elicitation', 'Hello, name-value!'],
    ['test_input_required_result_sampling', 'Sampling said: Paris'],
    ['test_input_required_result_list_roots', 'Roots: file:///work'],
    ['test_input_required_result_request_state', 'state-ok: confirmed=true'],
    ['test_input_required_result_multiple_inputs', 'name=name-value greeting=Paris roots=1'],
    ['test_input_required_result_multi_round', 'name-value likes color-value'],
    ['test_input_required_result_tampered_state', 'state verified'],
    ['test_input_required_result_capabilities', 'All declared inputs received'],
    ['test_streaming_elicitation', 'Answer: {"value":"value-value"}'],
  ];
  it.each(cases)('%s completes once the client answers', async (name, expected) => {
    await withClient(server, { era: 'modern', capabilities: ALL }, async (client) => {
      answerEverything(client);
      expect(textOf(await client.callTool({ name, arguments: {} }))).toBe(expected);
    });
  });

  it('test_input_required_result_capabilities asks only for what the client declared', async () => {
    await withClient(server, { era: 'modern', capabilities: { sampling: {} } }, async (client) => {
      const asked = answerEverything(client, { sampling: {} });
      await client.callTool({ name: 'test_input_required_result_capabilities', arguments: {} });
      expect(asked.map((a) => a.method)).toEqual(['sampling/createMessage']);
    });
  });

  it('test_missing_capability is -32021 without sampling and succeeds with it', async () => {
    await withClient(server, { era: 'modern' }, async (client) => {
      await expect(client.callTool({ name: 'test_missing_capability', arguments: {} })).rejects.toMatchObject({
        code: -32021,
      });
    });
    await withClient(server, { era: 'modern', capabilities: { sampling: {} } }, async (client) => {
      expect(textOf(await client.callTool({ name: 'test_missing_capability', arguments: {} }))).toBe(
        'The client declared sampling',
      );
    });
  });
});
