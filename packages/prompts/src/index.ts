/** Names this package; replace with the package's real API. */
export function describePrompts(): string {
  return '@trellis/prompts';
}
