import type { AnyPlugin } from '@trellis/server';
import { telemetry, type TelemetryRuntime } from '@trellis/telemetry';
import type { HttpTelemetry } from '../http/index.js';

/**
 * The command line's hook into `@trellis/telemetry`. The plugin always takes
 * part (its settings are listed by `--help`), but its setup loads the
 * OpenTelemetry SDK, by a dynamic import, only when METRICS or an OTLP
 * endpoint asks for it; otherwise nothing is measured.
 */
export interface TelemetryHook {
  /** The plugin, listed before the app's own so that their instruments find the providers in place. */
  readonly plugins: readonly AnyPlugin[];
  /** What the HTTP transport serves and reports, once telemetry runs. */
  http(): HttpTelemetry | undefined;
  /** Reports the stdio connection as one session. */
  sessionOpened(): (() => void) | undefined;
}

export function telemetryHook(app: { name: string; version: string; plugins: readonly AnyPlugin[] }): TelemetryHook {
  // An app that composes telemetry itself keeps its own.
  if (app.plugins.some((plugin) => plugin.name === 'telemetry'))
    return { plugins: [], http: () => undefined, sessionOpened: () => undefined };
  let runtime: TelemetryRuntime | undefined;
  const plugin = telemetry({
    serviceName: app.name,
    serviceVersion: app.version,
    onStart: (started) => (runtime = started),
  });
  return {
    plugins: [plugin as AnyPlugin],
    http: () =>
      runtime && {
        besideMcp: runtime.routes.besideMcp,
        handle: runtime.routes.handle,
        aroundRequest: runtime.routes.aroundRequest,
        sessionOpened: runtime.sessionOpened,
      },
    sessionOpened: () => runtime?.sessionOpened(),
  };
}
