/** Names this package; replace with the package's real API. */
export function describeServer(): string {
  return '@trellis/server';
}
