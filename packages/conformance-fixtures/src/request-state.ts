import { createRequestStateCodec } from '@modelcontextprotocol/server';
import { ToolError, type RequestContext } from '@trellis/server';

/** A context that can sign state itself (a later core may add this to RequestContext). */
type MintingContext = RequestContext & { mintRequestState?: (payload: unknown) => Promise<string> };

const codecs = new Map<string, ReturnType<typeof createRequestStateCodec>>();

/**
 * Signs a multi-round-trip `requestState` so that the server's own verify hook
 * accepts it on the retry.
 *
 * The core signs state with `TrellisServer.mintRequestState`, which a handler
 * cannot reach (neither `RequestContext` nor `PluginScope` exposes it). Until it
 * does, this signs with the same SDK codec and the same key: the server's
 * `REQUEST_STATE_SECRET`, which therefore must be set (the conformance app sets
 * one at start-up when the environment has none).
 */
export async function mintRequestState(ctx: RequestContext, payload: Record<string, unknown>): Promise<string> {
  const own = (ctx as MintingContext).mintRequestState;
  if (typeof own === 'function') return own.call(ctx, payload);
  const key = ctx.config.REQUEST_STATE_SECRET;
  if (typeof key !== 'string' || key.length < 32) {
    throw new ToolError('This tool needs REQUEST_STATE_SECRET (at least 32 characters) to sign its requestState.');
  }
  let codec = codecs.get(key);
  if (!codec) {
    // Must match the core's codec settings (packages/server/src/server.ts) for verify to accept it.
    codec = createRequestStateCodec({ key, ttlSeconds: 900 });
    codecs.set(key, codec);
  }
  return codec.mint(payload);
}

/** The verified, decoded `requestState` of a retried request, if it carried one. */
export function requestStateOf<T extends Record<string, unknown>>(ctx: RequestContext): Partial<T> | undefined {
  const value: unknown = ctx.sdk.mcpReq.requestState();
  return value !== null && typeof value === 'object' ? (value as Partial<T>) : undefined;
}
