import type { RequestContext } from './context.js';

/** Every MCP operation middleware can wrap. */
export type Operation =
  | 'tools/list'
  | 'tools/call'
  | 'resources/list'
  | 'resources/templates/list'
  | 'resources/read'
  | 'resources/subscribe'
  | 'resources/unsubscribe'
  | 'prompts/list'
  | 'prompts/get'
  | 'completion/complete';

export interface OperationContext {
  readonly operation: Operation;
  /** The tool or prompt name, or the resource URI, when the operation has one. */
  readonly target: string | undefined;
  readonly params: Readonly<Record<string, unknown>>;
  readonly request: RequestContext;
}

/**
 * `(op, next) => result`, around every operation, in onion order: the first
 * registered runs outermost. Clean-up belongs in `finally`.
 * @example
 * const timing: Middleware = async function timing(op, next) {
 *   const start = performance.now();
 *   try { return await next(); } finally { op.request.log.info({ ms: performance.now() - start }, op.operation); }
 * };
 */
export type Middleware = (op: OperationContext, next: () => Promise<unknown>) => Promise<unknown>;

export class MiddlewareError extends Error {
  readonly code = 'MIDDLEWARE_NEXT_TWICE';
}

/** Runs `final` inside `middlewares`, outermost first; `next()` may be called once. */
export function runMiddleware(
  middlewares: readonly Middleware[],
  op: OperationContext,
  final: () => Promise<unknown>,
): Promise<unknown> {
  if (middlewares.length === 0) return final();
  const dispatch = (index: number): Promise<unknown> => {
    if (index === middlewares.length) return final();
    const middleware = middlewares[index]!;
    let called = false;
    return middleware(op, () => {
      if (called) return Promise.reject(new MiddlewareError(`middleware #${index + 1} called next() twice`));
      called = true;
      return dispatch(index + 1);
    });
  };
  return dispatch(0);
}
