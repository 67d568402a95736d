import { conformanceFixtures } from '@trellis/conformance-fixtures';
import { run } from '@trellis/transport';

run({
  name: 'trellis-conformance',
  version: '0.1.0',
  description:
    'Serves every tool, resource and prompt the official MCP conformance suites call (test_simple_text, test://static-text, test_simple_prompt, …).',
  plugins: conformanceFixtures(),
});
