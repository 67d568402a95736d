/** Names this package; replace with the package's real API. */
export function describeTesting(): string {
  return '@trellis/testing';
}
