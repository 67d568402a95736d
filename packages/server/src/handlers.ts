import { randomUUID } from 'node:crypto';
import { isInputRequiredResult, type CallToolRequest, type CallToolResult, type InputRequiredResult, type Server, type ServerContext } from '@modelcontextprotocol/server';
import { CancelScope, SemaphoreTimeoutError } from '@trellis/concurrency';
import { busyResult, type ToolCallResult } from '@trellis/tools';
import type { ProtocolEra, RequestContext } from './context.js';
import { runMiddleware, type Middleware, type Operation } from './middleware.js';
import { buildRequestContext, narrowContext } from './request-context.js';
import type { TrellisServer } from './server.js';

/** One serving unit: the shared core and the SDK protocol object serving a session, connection or request. */
export interface ServingUnit {
  readonly core: TrellisServer;
  readonly protocol: Server;
  readonly era: ProtocolEra;
}

function middlewareFor(core: TrellisServer, owner: string | undefined): Middleware[] {
  const own = owner ? core.ownerMiddleware.get(owner) : undefined;
  if (!own || own.length === 0) return core.globalMiddleware;
  return core.globalMiddleware.length === 0 ? own : [...core.globalMiddleware, ...own];
}

/** Runs one operation with its context, middleware, in-flight tracking and cancel scope. */
async function withRequest<R>(
  unit: ServingUnit,
  operation: Operation,
  target: string | undefined,
  owner: string | undefined,
  params: Record<string, unknown>,
  sdk: ServerContext,
  final: (ctx: RequestContext, scope: CancelScope) => Promise<R>,
): Promise<R> {
  const { core, protocol, era } = unit;
  const leave = core.enterRequest();
  // Signal and task group are made only if the handler uses them (most never do).
  const scope = new CancelScope([sdk.mcpReq.signal, core.shutdownSignal]);
  try {
    const ctx = buildRequestContext({ core, protocol, era, sdk, scope, logFields: target ? { target } : undefined });
    const middlewares = middlewareFor(core, owner);
    const work =
      middlewares.length === 0
        ? final(ctx, scope)
        : (runMiddleware(middlewares, { operation, target, params, request: ctx }, () => final(ctx, scope)) as Promise<R>);
    return await scope.finish(work);
  } finally {
    leave();
  }
}

/**
 * Serves one `tools/call`: middleware, the server-wide limit, the tool
 * registry, and the era's projection of the result. Shared by the SDK's
 * dispatch and the stdio transport's direct path.
 */
export async function runToolCall(unit: ServingUnit, params: CallToolRequest['params'], sdk: ServerContext): Promise<CallToolResult | InputRequiredResult> {
  const { core, protocol } = unit;
  const { name } = params;
  const result = await withRequest(unit, 'tools/call', name, core.tools.ownerOf(name), params, sdk, (ctx, scope) => callTool(core, ctx, scope, name, params.arguments));
  if (isInputRequiredResult(result)) return result;
  return protocol.projectCallToolResult(result as CallToolResult, core.tools.describe(name)?.outputSchema as Record<string, unknown> | undefined);
}

async function callTool(core: TrellisServer, ctx: RequestContext, scope: CancelScope, name: string, args: unknown): Promise<ToolCallResult> {
  const limiter = core.callLimiter;
  let release: (() => void) | undefined;
  try {
    // A free slot is taken at once; only a wait in the queue needs the request's signal.
    release = limiter.tryAcquire() ?? (await limiter.acquire({ signal: scope.signal, timeoutMs: core.queueTimeoutMs }));
  } catch (error) {
    if (error instanceof SemaphoreTimeoutError) return busyResult('the server', core.callLimiter.active, core.callLimiter.pending, core.queueTimeoutMs);
    throw error;
  }
  try {
    return await core.tools.call(name, args, {
      scope,
      context: (callScope) => (callScope === scope ? ctx : narrowContext(ctx, callScope)),
      onError: (error, tool) => ctx.log.error({ err: error, tool }, 'tool call failed'),
    });
  } finally {
    release();
  }
}

/**
 * Wires one SDK protocol object to the shared registries. Returns a function
 * that detaches what it attached (subscriptions, change listeners).
 */
export function installHandlers(protocol: Server, core: TrellisServer, era: ProtocolEra): () => void {
  const subscriberId = randomUUID();
  const unit: ServingUnit = { core, protocol, era };

  /** List operations skip the context entirely when no middleware wants one. */
  function listing<R>(operation: Operation, params: Record<string, unknown>, sdk: ServerContext, list: (ctx?: RequestContext) => R | Promise<R>): Promise<R> {
    if (core.globalMiddleware.length === 0) return Promise.resolve(list());
    return withRequest(unit, operation, undefined, undefined, params, sdk, async (ctx) => list(ctx));
  }

  protocol.setRequestHandler('tools/list', (request, sdk) => listing('tools/list', request.params ?? {}, sdk, () => ({ tools: core.tools.list() })));

  protocol.setRequestHandler('tools/call', (request, sdk) => runToolCall(unit, request.params, sdk) as never);

  // Templates may list their resources on demand, which needs a context (a signal, a log).
  protocol.setRequestHandler('resources/list', (request, sdk) =>
    withRequest(unit, 'resources/list', undefined, undefined, request.params ?? {}, sdk, (ctx) => core.resources.list(request.params?.cursor, ctx) as never),
  );
  protocol.setRequestHandler('resources/templates/list', (request, sdk) =>
    listing('resources/templates/list', request.params ?? {}, sdk, () => core.resources.listTemplates(request.params?.cursor) as never),
  );
  protocol.setRequestHandler('resources/read', (request, sdk) => {
    const { uri } = request.params;
    return withRequest(unit, 'resources/read', uri, core.resources.ownerOf(uri), request.params, sdk, async (ctx) => {
      const result = await core.resources.read(uri, ctx);
      const hint = core.resources.cacheHintFor(uri);
      // A per-resource 2026-07-28 cache hint; the SDK leaves it out of older-protocol answers.
      return (hint && era === 'modern' && result.ttlMs === undefined ? { ...result, ...hint } : result) as never;
    });
  });
  protocol.setRequestHandler('resources/subscribe', async (request) => {
    core.resources.subscribe(request.params.uri, subscriberId);
    return {};
  });
  protocol.setRequestHandler('resources/unsubscribe', async (request) => {
    core.resources.unsubscribe(request.params.uri, subscriberId);
    return {};
  });

  protocol.setRequestHandler('prompts/list', (request, sdk) =>
    listing('prompts/list', request.params ?? {}, sdk, () => core.prompts.list(request.params?.cursor) as never),
  );
  protocol.setRequestHandler('prompts/get', (request, sdk) => {
    const { name } = request.params;
    return withRequest(unit, 'prompts/get', name, core.prompts.ownerOf(name), request.params, sdk, (ctx) => core.prompts.get(name, request.params.arguments, ctx) as never);
  });

  protocol.setRequestHandler('completion/complete', (request, sdk) => {
    const { ref, argument, context } = request.params;
    const target = ref.type === 'ref/prompt' ? ref.name : ref.uri;
    return withRequest(unit, 'completion/complete', target, undefined, request.params, sdk, async (ctx) => {
      const completion =
        ref.type === 'ref/prompt'
          ? await core.prompts.complete(ref.name, argument.name, argument.value, context ?? {}, ctx)
          : await core.resources.complete(ref.uri, argument.name, argument.value, context ?? {}, ctx);
      return { completion } as never;
    });
  });

  if (era === 'modern') return () => undefined;

  // An older-protocol session hears about changes over its own connection.
  const stopListening = core.onChange((change) => {
    const sent =
      change.kind === 'tools'
        ? protocol.sendToolListChanged()
        : change.kind === 'prompts'
          ? protocol.sendPromptListChanged()
          : change.kind === 'resources'
            ? protocol.sendResourceListChanged()
            : change.kind === 'resource-updated' && change.subscribers.includes(subscriberId)
              ? protocol.sendResourceUpdated({ uri: change.uri })
              : undefined;
    sent?.catch(() => undefined);
  });
  return () => {
    stopListening();
    core.resources.unsubscribeAll(subscriberId);
  };
}
