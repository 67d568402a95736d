import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/**
 * A client span around one HTTP exchange (one hop: redirects and retries each
 * get their own), by the OpenTelemetry HTTP conventions: method, host, port
 * and status, never the path or query (they may carry tokens). Through
 * `@opentelemetry/api`, which does nothing unless an app set up telemetry.
 */
export function traceExchange<T extends { statusCode: number }>(method: string, url: URL, send: () => Promise<T>): Promise<T> {
  const attributes = {
    'http.request.method': method,
    'server.address': url.hostname,
    'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    'url.scheme': url.protocol.slice(0, -1),
  };
  return trace.getTracer('@trellis/http').startActiveSpan(method, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      const response = await send();
      span.setAttribute('http.response.status_code', response.statusCode);
      if (response.statusCode >= 400) {
        span.setAttribute('error.type', String(response.statusCode));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      return response;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      span.setAttribute('error.type', typeof code === 'string' ? code : error instanceof Error ? error.name : '_OTHER');
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}
