import type { TrellisServer } from '@trellis/server';
import {
  httpConfigSchema,
  httpOptionsFromConfig,
  serveHttp,
  type HttpTelemetry,
  type HttpTransport,
} from '../http/index.js';

/** The HTTP transport's configuration, as a part of the app's. */
export const httpSchemaPart = { owner: 'http', schema: httpConfigSchema };

/** Starts Streamable HTTP from the loaded configuration (PORT, HOST, auth, limits…). */
export function startHttp(
  server: TrellisServer,
  config: Readonly<Record<string, unknown>>,
  telemetry?: HttpTelemetry,
): Promise<HttpTransport> {
  return serveHttp(server, { ...httpOptionsFromConfig(config), ...(telemetry && { telemetry }) });
}
