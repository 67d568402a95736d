import {
  CLIENT_CAPABILITIES_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  type ClientCapabilities,
  type Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { CancelScope } from '@trellis/concurrency';
import { ToolError } from '@trellis/tools';
import type { ProtocolEra, RequestContext } from './context.js';
import type { Logger } from './logging.js';
import type { TrellisServer } from './server.js';

export interface ContextInputs {
  core: TrellisServer;
  protocol: Server;
  era: ProtocolEra;
  sdk: ServerContext;
  /** The request's signal and task group, made on first use. */
  scope: CancelScope;
  /** Extra fields for the request logger (tool name, resource URI). */
  logFields?: Record<string, unknown>;
}

/** The reserved `io.modelcontextprotocol/*` keys of a 2026-07-28 request (the SDK types them loosely). */
function envelopeOf(sdk: ServerContext): Record<string, unknown> | undefined {
  return sdk.mcpReq.envelope as Record<string, unknown> | undefined;
}

/** Capabilities from the request's envelope (2026-07-28) or the session's initialize. */
export function clientCapabilitiesOf(sdk: ServerContext, protocol: Server): ClientCapabilities | undefined {
  return (envelopeOf(sdk)?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined) ?? protocol.getClientCapabilities();
}

/** Builds a handler's context. The logger child is made only if the handler logs. */
export function buildRequestContext(inputs: ContextInputs): RequestContext {
  const { core, protocol, era, sdk, scope } = inputs;
  let log: Logger | undefined;
  const capabilities = clientCapabilitiesOf(sdk, protocol);
  const authInfo = sdk.http?.authInfo;
  return {
    requestId: sdk.mcpReq.id,
    method: sdk.mcpReq.method,
    sessionId: sdk.sessionId,
    era,
    get signal() {
      return scope.signal;
    },
    get group() {
      return scope.group;
    },
    get log() {
      log ??= core.logger.child({
        reqId: sdk.mcpReq.id,
        method: sdk.mcpReq.method,
        ...(sdk.sessionId !== undefined && { session: sdk.sessionId }),
        ...inputs.logFields,
      });
      return log;
    },
    config: core.config,
    settings: () => core.settings(),
    clientCapabilities: capabilities,
    inputResponses: sdk.mcpReq.inputResponses,
    requestState: <T>() => sdk.mcpReq.requestState<T>(),
    mintRequestState: (payload) => core.mintRequestState(payload),
    auth: authInfo ? { token: authInfo.token, clientId: authInfo.clientId, scopes: authInfo.scopes, ...(authInfo.extra && { extra: authInfo.extra }) } : undefined,
    service(key) {
      const entry = core.services.get(key.id);
      if (!entry) throw new Error(`no plugin provides service "${key.id}"`);
      return entry.value as never;
    },
    async progress(progress, total, message) {
      const token = sdk.mcpReq._meta?.progressToken;
      if (token === undefined || scope.aborted) return;
      await sdk.mcpReq.notify({
        method: 'notifications/progress',
        params: { progressToken: token, progress, ...(total !== undefined && { total }), ...(message !== undefined && { message }) },
      });
    },
    async clientLog(level, data) {
      if (scope.aborted) return;
      await sdk.mcpReq.log(level, data);
    },
    async elicit(params) {
      requirePushChannel(era, sdk, 'elicitation');
      if (!capabilities?.elicitation) throw new ToolError('This tool needs to ask the user, but the client did not declare the elicitation capability.');
      return sdk.mcpReq.elicitInput({ mode: 'form', ...params } as never, { signal: scope.signal });
    },
    async sample(params) {
      requirePushChannel(era, sdk, 'sampling');
      if (!capabilities?.sampling) throw new ToolError('This tool needs the client to run a model, but the client did not declare the sampling capability.');
      return (await sdk.mcpReq.requestSampling(params, { signal: scope.signal })) as never;
    },
    sdk,
  };
}

function requirePushChannel(era: ProtocolEra, sdk: ServerContext, what: string): void {
  const version = envelopeOf(sdk)?.[PROTOCOL_VERSION_META_KEY];
  if (era === 'modern' || version !== undefined) {
    throw new ToolError(`This request uses protocol ${String(version ?? '2026-07-28')}, which has no server-to-client ${what} requests; the tool must return inputRequired(...) instead.`);
  }
}
