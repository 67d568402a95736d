import type { AnyPlugin } from '@trellis/server';
import { conformanceContentTools } from './content-tools.js';
import { conformanceInputRequired } from './input-required.js';
import { conformanceInteractiveTools } from './interactive-tools.js';
import { conformanceListChanges } from './list-changes.js';
import { conformancePrompts } from './prompts.js';
import { conformanceResources } from './resources.js';
import { conformanceTasks } from './tasks.js';

export { PNG_1X1, WAV_TINY } from './assets.js';
export { conformanceContentTools } from './content-tools.js';
export { conformanceInputRequired } from './input-required.js';
export { conformanceInteractiveTools } from './interactive-tools.js';
export { conformanceListChanges } from './list-changes.js';
export { conformancePrompts } from './prompts.js';
export { conformanceResources } from './resources.js';
export { conformanceTasks } from './tasks.js';

/**
 * Every fixture the official MCP conformance suites call, as plugins:
 * `run({ name: 'trellis-conformance', version, plugins: conformanceFixtures() })`.
 */
export function conformanceFixtures(): AnyPlugin[] {
  return [
    conformanceContentTools(),
    conformanceInteractiveTools(),
    conformanceInputRequired(),
    conformanceListChanges(),
    conformanceResources(),
    conformancePrompts(),
    conformanceTasks(),
  ] as AnyPlugin[];
}
