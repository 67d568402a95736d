/** Names this package; replace with the package's real API. */
export function describeConcurrency(): string {
  return '@trellis/concurrency';
}
