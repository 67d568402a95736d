/** Names this package; replace with the package's real API. */
export function describeConfig(): string {
  return '@trellis/config';
}
