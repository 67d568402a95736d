import {
  Server,
  type Implementation,
  type JSONRPCRequest,
  type Result,
  type ServerContext,
  type ServerOptions,
} from '@modelcontextprotocol/server';
import type { Connection } from './connection.js';
import { isPipelineOperation, serveObserved, type PipelineHost } from './pipeline.js';

/**
 * The SDK protocol object Trellis serves with: the SDK's `Server`, whose
 * handler hook (`_wrapHandler`, which the SDK applies to every registered
 * request handler, its own `initialize`, `ping` and `server/discover`
 * included) puts the requests the pipeline does not serve under the server's
 * operation observers. So observers see every request, not only the
 * pipeline's operations.
 */
export class ProtocolServer extends Server {
  // Set after the SDK's constructor, which already registers handlers: the wrappers read it per request.
  #observed: { host: PipelineHost; connection: Connection } | undefined;

  constructor(info: Implementation, options: ServerOptions, observed: { host: PipelineHost; connection: Connection }) {
    super(info, options);
    this.#observed = observed;
  }

  protected override _wrapHandler(
    method: string,
    handler: (request: JSONRPCRequest, ctx: ServerContext) => Promise<Result>,
  ): (request: JSONRPCRequest, ctx: ServerContext) => Promise<Result> {
    const wrapped = super._wrapHandler(method, handler);
    if (isPipelineOperation(method)) return wrapped;
    return (request, ctx) => {
      const observed = this.#observed;
      if (!observed || observed.host.observers.length === 0 || observed.connection.replaying)
        return wrapped(request, ctx);
      return serveObserved(
        observed.host,
        observed.connection,
        method,
        ctx,
        () => wrapped(request, ctx),
        request.params as Readonly<Record<string, unknown>> | undefined,
      );
    };
  }
}
