import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/**
 * A client span around one statement, by the OpenTelemetry database
 * conventions: the statement's kind and the rows returned, never its text or
 * parameters (they may carry personal data). Through `@opentelemetry/api`,
 * which does nothing unless an app set up telemetry.
 */
export function traceStatement<T extends { rowCount: number }>(kind: string | undefined, run: () => Promise<T>): Promise<T> {
  const operation = kind?.toUpperCase() ?? 'QUERY';
  const attributes = { 'db.system.name': 'postgresql', 'db.operation.name': operation };
  return trace.getTracer('@trellis/postgres').startActiveSpan(operation, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      const outcome = await run();
      span.setAttribute('db.response.returned_rows', outcome.rowCount);
      return outcome;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      span.setAttribute('error.type', typeof code === 'string' ? code : '_OTHER');
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}
