/** Names this package; replace with the package's real API. */
export function describeResources(): string {
  return '@trellis/resources';
}
