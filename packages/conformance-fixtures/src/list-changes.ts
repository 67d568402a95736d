import { definePlugin } from '@trellis/server';

/**
 * Tools that change the server's lists so clients (and the 2026-07-28
 * `subscriptions/listen` checks) see list-changed notifications. Each removes
 * and re-adds a marker entry, so the lists look the same afterwards.
 */
export function conformanceListChanges() {
  return definePlugin({
    name: 'conformance-list-changes',
    setup(scope) {
      const markerTool = {
        name: 'test_dynamic_tool',
        description: 'A tool that test_trigger_tool_change removes and adds again',
        handler: () => 'Dynamic tool called',
      };
      const markerPrompt = {
        name: 'test_dynamic_prompt',
        description: 'A prompt that test_trigger_prompt_change removes and adds again',
        get: () => [{ role: 'user' as const, content: { type: 'text' as const, text: 'This is a dynamic prompt.' } }],
      };
      scope.tools.add(markerTool);
      scope.prompts.add(markerPrompt);
      scope.tools.add({
        name: 'test_trigger_tool_change',
        description: 'Changes the tool list (removes and re-adds test_dynamic_tool), so clients get tools/list_changed',
        handler: () => {
          scope.tools.remove(markerTool.name);
          scope.tools.add(markerTool);
          return 'The tool list changed';
        },
      });
      scope.tools.add({
        name: 'test_trigger_prompt_change',
        description:
          'Changes the prompt list (removes and re-adds test_dynamic_prompt), so clients get prompts/list_changed',
        handler: () => {
          scope.prompts.remove(markerPrompt.name);
          scope.prompts.add(markerPrompt);
          return 'The prompt list changed';
        },
      });
    },
  });
}
