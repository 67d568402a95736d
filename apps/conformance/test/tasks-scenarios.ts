/**
 * The Tasks extension's conformance scenarios, by name (`--suite all` alone would also run other
 * extensions' scenarios). tasks-status-notifications is skipped by the suite itself: it is reported as not
 * scored, so nine of the ten are scored.
 */
export const TASKS_SCENARIOS = [
  'tasks-lifecycle',
  'tasks-capability-negotiation',
  'tasks-wire-fields',
  'tasks-request-state-removal',
  'tasks-mrtr-input',
  'tasks-request-headers',
  'tasks-dispatch-and-envelope',
  'tasks-status-notifications',
  'tasks-required-task-error',
  'tasks-mrtr-composition',
] as const;
