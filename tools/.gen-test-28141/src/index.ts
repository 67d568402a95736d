/** Names this package; replace with the package's real API. */
export function describeSampleWidget(): string {
  return '@trellis/sample-widget';
}
