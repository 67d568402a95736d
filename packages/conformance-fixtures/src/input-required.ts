import { acceptedContent, definePlugin, inputRequired, inputResponse, type RequestContext } from '@trellis/server';

const NAME_SCHEMA = { type: 'object' as const, properties: { name: { type: 'string' as const } }, required: ['name'] };
const CONFIRM_SCHEMA = { type: 'object' as const, properties: { ok: { type: 'boolean' as const } }, required: ['ok'] };
const askName = (message = 'What is your name?') => inputRequired.elicit({ message, requestedSchema: NAME_SCHEMA });
const askConfirm = () => inputRequired.elicit({ message: 'Please confirm', requestedSchema: CONFIRM_SCHEMA });
const question = (text: string, maxTokens: number) =>
  inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text } }], maxTokens });

function samplingText(ctx: RequestContext, key: string): string | undefined {
  const answer = inputResponse(ctx.inputResponses, key);
  if (answer.kind !== 'sampling') return undefined;
  const first: unknown = Array.isArray(answer.result.content) ? answer.result.content[0] : answer.result.content;
  const text = (first as { text?: unknown } | undefined)?.text;
  return typeof text === 'string' ? text : JSON.stringify(first);
}

/**
 * The multi-round-trip fixtures of the 2026-07-28 suite (SEP-2322): each tool
 * answers `input_required` until the retried request carries the answers it
 * asked for (and, where it uses one, the signed `requestState` it minted).
 * Missing or malformed answers get the same question again.
 */
export function conformanceInputRequired() {
  return definePlugin({
    name: 'conformance-input-required',
    setup(scope) {
      scope.tools.add({
        name: 'test_input_required_result_elicitation',
        interactive: true,
        description: 'Multi-round-trip: asks the user for a name, then greets them',
        handler: (_args, ctx) => {
          const got = acceptedContent(ctx.inputResponses, 'user_name');
          if (typeof got?.name === 'string') return `Hello, ${got.name}!`;
          return inputRequired({ inputRequests: { user_name: askName() } });
        },
      });
      scope.tools.add({
        name: 'test_input_required_result_sampling',
        interactive: true,
        description: "Multi-round-trip: asks the client's model a question, then reports the answer",
        handler: (_args, ctx) => {
          const said = samplingText(ctx, 'capital_question');
          if (said !== undefined) return `Sampling said: ${said}`;
          return inputRequired({
            inputRequests: { capital_question: question('What is the capital of France?', 100) },
          });
        },
      });
      scope.tools.add({
        name: 'test_input_required_result_list_roots',
        interactive: true,
        description: "Multi-round-trip: asks for the client's roots, then lists them",
        handler: (_args, ctx) => {
          const answer = inputResponse(ctx.inputResponses, 'client_roots');
          if (answer.kind === 'roots') return `Roots: ${answer.roots.map((r) => r.uri).join(', ')}`;
          return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
        },
      });
      scope.tools.add({
        name: 'test_input_required_result_request_state',
        interactive: true,
        description: 'Multi-round-trip: asks for confirmation with a signed requestState, answers state-ok',
        handler: async (_args, ctx) => {
          const state = ctx.requestState<Partial<{ step: string }>>();
          const got = acceptedContent(ctx.inputResponses, 'confirm');
          if (state?.step === 'confirm' && got) return `state-ok: confirmed=${String(got.ok)}`;
          return inputRequired({
            inputRequests: { confirm: askConfirm() },
            requestState: await ctx.mintRequestState({ step: 'confirm' }),
          });
        },
      });
      scope.tools.add({
        name: 'test_input_required_result_multiple_inputs',
        interactive: true,
        description: 'Multi-round-trip: asks for a name, a model greeting and the roots at once',
        handler: async (_args, ctx) => {
          const name = acceptedContent(ctx.inputResponses, 'user_name');
          const greeting = samplingText(ctx, 'greeting');
          const roots = inputResponse(ctx.inputResponses, 'client_roots');
          if (ctx.requestState() && name && greeting !== undefined && roots.kind === 'roots') {
            return `name=${String(name.name)} greeting=${greeting} roots=${roots.roots.length}`;
          }
          return inputRequired({
            inputRequests: {
              user_name: askName(),
              greeting: question('Generate a greeting', 50),
              client_roots: inputRequired.listRoots(),
            },
            requestState: await ctx.mintRequestState({ step: 'multi' }),
          });
        },
      });
      scope.tools.add({
        name: 'test_input_required_result_multi_round',
        interactive: true,
        description: 'Multi-round-trip: two questions in two rounds, the state evolving between them',
        handler: async (_args, ctx) => {
          const state = ctx.requestState<Partial<{ round: number; name: string }>>();
          if (state?.round === 2) {
            const got = acceptedContent(ctx.inputResponses, 'step2');
            if (typeof got?.color === 'string') return `${state.name} likes ${got.color}`;
          }
          if (state?.round === 1) {
            const got = acceptedContent(ctx.inputResponses, 'step1');
            if (typeof got?.name === 'string') {
              return inputRequired({
                inputRequests: {
                  step2: inputRequired.elicit({
                    message: 'Step 2: What is your favorite color?',
                    requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] },
                  }),
                },
                requestState: await ctx.mintRequestState({ round: 2, name: got.name }),
              });
            }
          }
          return inputRequired({
            inputRequests: { step1: askName('Step 1: What is your name?') },
            requestState: await ctx.mintRequestState({ round: 1 }),
          });
        },
      });
      scope.tools.add({
        name: 'test_input_required_result_tampered_state',
        interactive: true,
        description: 'Multi-round-trip: signs its requestState; a tampered one is rejected with -32602',
        handler: async (_args, ctx) => {
          if (ctx.requestState() && acceptedContent(ctx.inputResponses, 'confirm')) return 'state verified';
          return inputRequired({
            inputRequests: { confirm: askConfirm() },
            requestState: await ctx.mintRequestState({ step: 'tamper-check' }),
          });
        },
      });
      scope.tools.add({
        name: 'test_input_required_result_capabilities',
        interactive: true,
        description: 'Multi-round-trip: asks only for what the client declared (sampling, elicitation, roots)',
        handler: (_args, ctx) => {
          const caps = ctx.clientCapabilities ?? {};
          const asks: Record<string, ReturnType<typeof askName>> = {};
          if (caps.sampling && inputResponse(ctx.inputResponses, 'sample').kind !== 'sampling')
            asks.sample = question('Say hi', 20);
          if (caps.elicitation && !acceptedContent(ctx.inputResponses, 'ask')) asks.ask = askName('Name?');
          if (caps.roots && inputResponse(ctx.inputResponses, 'roots').kind !== 'roots')
            asks.roots = inputRequired.listRoots();
          if (Object.keys(asks).length > 0) return inputRequired({ inputRequests: asks });
          return 'All declared inputs received';
        },
      });
      scope.prompts.add({
        name: 'test_input_required_result_prompt',
        description: 'Multi-round-trip on prompts/get: asks for context, then builds the prompt',
        get: (_args, ctx) => {
          const got = acceptedContent(ctx.inputResponses, 'user_context');
          if (typeof got?.context === 'string') {
            return {
              messages: [{ role: 'user', content: { type: 'text', text: `Prompt using context: ${got.context}` } }],
            };
          }
          return inputRequired({
            inputRequests: {
              user_context: inputRequired.elicit({
                message: 'What context should the prompt use?',
                requestedSchema: { type: 'object', properties: { context: { type: 'string' } }, required: ['context'] },
              }),
            },
          });
        },
      });
    },
  });
}
