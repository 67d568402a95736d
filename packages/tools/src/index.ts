/** Names this package; replace with the package's real API. */
export function describeTools(): string {
  return '@trellis/tools';
}
