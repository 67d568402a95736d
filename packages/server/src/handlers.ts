import { randomUUID } from 'node:crypto';
import {
  ProtocolError,
  type CreateMessageRequest,
  type CreateMessageResult,
  type ElicitRequestFormParams,
  type ElicitResult,
  type Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { CancelScope } from '@trellis/concurrency';
import { legacyChangeNotification } from './changes.js';
import type { Connection } from './connection.js';
import type { ProtocolEra, RequestContext } from './context.js';
import type { Operation } from './middleware.js';
import {
  serveOperation,
  serveToolCall,
  type OperationRequest,
  type PipelineHost,
  type ReplyChannel,
  type ToolCallRequest,
} from './pipeline.js';

/** What flows back on the SDK's path: through the SDK's own request context. */
class SdkReplyChannel implements ReplyChannel {
  readonly #sdk: ServerContext;
  readonly ask: ReplyChannel['ask'];

  constructor(sdk: ServerContext) {
    this.#sdk = sdk;
    this.ask = {
      elicit: (params: ElicitRequestFormParams, signal: AbortSignal): Promise<ElicitResult> =>
        sdk.mcpReq.elicitInput(params as never, { signal }),
      sample: async (params: CreateMessageRequest['params'], signal: AbortSignal): Promise<CreateMessageResult> =>
        (await sdk.mcpReq.requestSampling(params, { signal })) as CreateMessageResult,
    };
  }

  notify(notification: { method: string; params?: Record<string, unknown> }): Promise<void> {
    return this.#sdk.mcpReq.notify(notification as never);
  }
}

/** The pipeline's request value for a request the SDK dispatched (recorded on its connection until `done`). */
function fromSdk(
  connection: Connection,
  era: ProtocolEra,
  method: Operation,
  target: string | undefined,
  params: Record<string, unknown>,
  sdk: ServerContext,
  signal: AbortSignal,
): OperationRequest {
  const req = sdk.mcpReq;
  return {
    id: req.id,
    method,
    target,
    params,
    meta: req._meta as Record<string, unknown> | undefined,
    envelope: req.envelope as Record<string, unknown> | undefined,
    era,
    connection,
    auth: sdk.http?.authInfo,
    signal,
    ...(req.inputResponses !== undefined && { inputResponses: req.inputResponses }),
    requestState: () => req.requestState(),
    sdk,
  };
}

/**
 * Wires one SDK protocol object to the pipeline: each handler only translates
 * the SDK's request into the pipeline's request value and its outcome back.
 * Returns a function that detaches what it attached (subscriptions, change listeners).
 */
export function installHandlers(
  protocol: Server,
  host: PipelineHost,
  era: ProtocolEra,
  connection: Connection,
): () => void {
  const subscriberId = randomUUID();

  async function serve<R>(
    operation: Operation,
    target: string | undefined,
    owner: string | undefined,
    params: Record<string, unknown>,
    sdk: ServerContext,
    final: (ctx: RequestContext) => Promise<R> | R,
  ): Promise<R> {
    connection.served = true;
    const tracked = connection.track(sdk.mcpReq.id, sdk.mcpReq.signal);
    try {
      const request = fromSdk(connection, era, operation, target, params, sdk, tracked.signal);
      const scope = new CancelScope([tracked.signal, host.shutdownSignal]);
      return await serveOperation(host, request, new SdkReplyChannel(sdk), owner, scope, async (_host, _request, ctx) =>
        final(ctx),
      );
    } finally {
      tracked.done();
    }
  }

  /** List operations skip the pipeline's context entirely when no middleware or observer wants one. */
  function listing<R>(
    operation: Operation,
    params: Record<string, unknown>,
    sdk: ServerContext,
    list: (ctx?: RequestContext) => R | Promise<R>,
  ): Promise<R> {
    if (host.middlewareFor(undefined).length === 0 && host.observers.length === 0) {
      connection.served = true;
      return Promise.resolve(list());
    }
    return serve(operation, undefined, undefined, params, sdk, list);
  }

  protocol.setRequestHandler('tools/list', (request, sdk) =>
    listing('tools/list', request.params ?? {}, sdk, () => ({ tools: host.tools.list() })),
  );

  protocol.setRequestHandler('tools/call', async (request, sdk) => {
    connection.served = true;
    const { name } = request.params;
    const tracked = connection.track(sdk.mcpReq.id, sdk.mcpReq.signal);
    let outcome;
    try {
      const call: ToolCallRequest = {
        ...fromSdk(connection, era, 'tools/call', name, request.params, sdk, tracked.signal),
        method: 'tools/call',
        target: name,
        arguments: request.params.arguments,
      };
      outcome = await serveToolCall(host, call, new SdkReplyChannel(sdk));
    } finally {
      tracked.done();
    }
    switch (outcome.kind) {
      case 'result':
        return protocol.projectCallToolResult(
          outcome.result,
          host.tools.describe(name)?.outputSchema as Record<string, unknown> | undefined,
        ) as never;
      case 'input_required':
        // The SDK checks it against the request's capabilities (2026-07-28) or asks the client through its shim (older sessions).
        return outcome.result as never;
      case 'task':
        return outcome.result as never;
      case 'error':
        throw new ProtocolError(outcome.code, outcome.message, outcome.data);
    }
  });

  // Templates may list their resources on demand, which needs a context (a signal, a log).
  protocol.setRequestHandler('resources/list', (request, sdk) =>
    serve(
      'resources/list',
      undefined,
      undefined,
      request.params ?? {},
      sdk,
      (ctx) => host.resources.list(request.params?.cursor, ctx) as never,
    ),
  );
  protocol.setRequestHandler('resources/templates/list', (request, sdk) =>
    listing(
      'resources/templates/list',
      request.params ?? {},
      sdk,
      () => host.resources.listTemplates(request.params?.cursor) as never,
    ),
  );
  protocol.setRequestHandler('resources/read', (request, sdk) => {
    const { uri } = request.params;
    return serve('resources/read', uri, host.resources.ownerOf(uri), request.params, sdk, async (ctx) => {
      const result = await host.resources.read(uri, ctx);
      const hint = host.resources.cacheHintFor(uri);
      // A per-resource 2026-07-28 cache hint; the SDK leaves it out of older-protocol answers.
      return (hint && era === 'modern' && result.ttlMs === undefined ? { ...result, ...hint } : result) as never;
    });
  });
  protocol.setRequestHandler('resources/subscribe', (request, sdk) => {
    const { uri } = request.params;
    return serve('resources/subscribe', uri, host.resources.ownerOf(uri), request.params, sdk, async () => {
      host.resources.subscribe(uri, subscriberId);
      await connection.shareSubscription?.(uri, true);
      return {};
    });
  });
  protocol.setRequestHandler('resources/unsubscribe', (request, sdk) => {
    const { uri } = request.params;
    return serve('resources/unsubscribe', uri, host.resources.ownerOf(uri), request.params, sdk, async () => {
      host.resources.unsubscribe(uri, subscriberId);
      await connection.shareSubscription?.(uri, false);
      return {};
    });
  });

  protocol.setRequestHandler('prompts/list', (request, sdk) =>
    listing('prompts/list', request.params ?? {}, sdk, () => host.prompts.list(request.params?.cursor) as never),
  );
  protocol.setRequestHandler('prompts/get', (request, sdk) => {
    const { name } = request.params;
    return serve(
      'prompts/get',
      name,
      host.prompts.ownerOf(name),
      request.params,
      sdk,
      (ctx) => host.prompts.get(name, request.params.arguments, ctx) as never,
    );
  });

  protocol.setRequestHandler('completion/complete', (request, sdk) => {
    const { ref, argument, context } = request.params;
    const target = ref.type === 'ref/prompt' ? ref.name : ref.uri;
    return serve('completion/complete', target, undefined, request.params, sdk, async (ctx) => {
      const completion =
        ref.type === 'ref/prompt'
          ? await host.prompts.complete(ref.name, argument.name, argument.value, context ?? {}, ctx)
          : await host.resources.complete(ref.uri, argument.name, argument.value, context ?? {}, ctx);
      return { completion } as never;
    });
  });

  if (era === 'modern') return () => undefined;

  // Older protocol: the connection keeps the client's log level, so that one
  // policy (`wantsLog`) serves the fast path and the SDK's alike.
  protocol.setRequestHandler('logging/setLevel', async (request) => {
    connection.logLevel = request.params.level;
    return {};
  });

  // An older-protocol session hears about changes over its own connection.
  const stopListening = host.onChange((change) => {
    const notification = legacyChangeNotification(change, (uri) =>
      connection.sharedSubscriptions
        ? connection.sharedSubscriptions.has(uri)
        : change.kind === 'resource-updated' && change.subscribers.includes(subscriberId),
    );
    // Sent synchronously down to the transport's event store (a fleet's stream event ids rely on it).
    if (notification) protocol.notification(notification).catch(() => undefined);
  });
  return () => {
    stopListening();
    host.resources.unsubscribeAll(subscriberId);
  };
}
