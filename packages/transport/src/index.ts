/** Names this package; replace with the package's real API. */
export function describeTransport(): string {
  return '@trellis/transport';
}
