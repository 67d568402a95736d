import { createServer, type TrellisServer } from '@trellis/server';
import type { connectInProcess } from '@trellis/testing';

export { textOf, withClient } from '@trellis/testing';
import { conformanceFixtures } from '../src/index.js';

export const ERAS = ['legacy', 'modern'] as const;
export const SECRET = 'conformance-fixtures-test-secret-0123456789';

export type TestClient = Awaited<ReturnType<typeof connectInProcess>>['client'];

/** A started server with every fixture, quiet, with a requestState key. */
export async function startFixtures(
  env: Record<string, string> = { REQUEST_STATE_SECRET: SECRET },
): Promise<TrellisServer> {
  const server = createServer({
    name: 'conformance-fixtures-test',
    version: '0.0.0',
    plugins: conformanceFixtures(),
    configSources: { argv: [], env: { LOG_LEVEL: 'silent', ...env }, envFiles: [] },
  });
  await server.start();
  return server;
}
