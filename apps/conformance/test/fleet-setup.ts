import { ensureConformanceTools } from '../../../tools/conformance.mjs';
import { startFleet, type Fleet } from '../../../tools/fleet.mjs';
import { BUNDLE } from './bundle.js';

export type ConformanceTools = Awaited<ReturnType<typeof ensureConformanceTools>>;

/**
 * Starts the built app's fleet (tools/fleet.mjs) with `env` while the conformance tools install, in
 * parallel: both are slow. When the install fails, the fleet that did start is stopped before the error is
 * thrown, so that no test file leaks it.
 */
export async function startFleetWithTools(
  env: Record<string, string>,
): Promise<{ fleet: Fleet; tools: ConformanceTools }> {
  const [installed, started] = await Promise.allSettled([
    ensureConformanceTools(),
    startFleet({ bundle: BUNDLE, env }),
  ]);
  if (installed.status === 'rejected') {
    if (started.status === 'fulfilled') await started.value.stop();
    throw installed.reason;
  }
  if (started.status === 'rejected') throw started.reason;
  return { fleet: started.value, tools: installed.value };
}

/** Closes what a test file opened, newest first (a failed close does not stop the rest), then the fleet. */
export async function stopAll(closers: (() => Promise<unknown>)[], fleet: Fleet | undefined): Promise<void> {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await fleet?.stop();
}
