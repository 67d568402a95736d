import { randomBytes } from 'node:crypto';
import { conformanceFixtures } from '@trellis/conformance-fixtures';
import { run } from '@trellis/transport';

// The multi-round-trip fixtures sign their requestState with the server's key
// (a handler cannot reach the core's own signer yet), so the key must be known:
// one per process unless the environment sets it.
process.env.REQUEST_STATE_SECRET ??= randomBytes(32).toString('base64url');

run({
  name: 'trellis-conformance',
  version: '0.1.0',
  description: 'Serves every tool, resource and prompt the official MCP conformance suites call (test_simple_text, test://static-text, test_simple_prompt, …).',
  plugins: conformanceFixtures(),
});
