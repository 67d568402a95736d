import { isIPv4, isIPv6 } from 'node:net';

/**
 * Classification of IP addresses for SSRF protection: anything that is not public unicast is
 * refused. Ranges follow the IANA special-purpose registries (IPv4 and IPv6); IPv6 forms that
 * carry an IPv4 address (mapped, NAT64, 6to4) are judged by the address they carry.
 */

/** Why an address is not public, e.g. `loopback (127.0.0.0/8)`; `undefined` for public. */
export type NonPublicKind = string;

type V4Range = readonly [base: number, bits: number, kind: string];

function v4(text: string): number {
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
}

const V4_RANGES: readonly V4Range[] = (
  [
    ['0.0.0.0', 32, 'unspecified'],
    ['0.0.0.0', 8, 'this network'],
    ['10.0.0.0', 8, 'private'],
    ['100.64.0.0', 10, 'shared address space (CGNAT)'],
    ['127.0.0.0', 8, 'loopback'],
    ['169.254.0.0', 16, 'link-local (cloud metadata lives here)'],
    ['172.16.0.0', 12, 'private'],
    ['192.0.0.0', 24, 'IETF protocol assignments'],
    ['192.0.2.0', 24, 'documentation'],
    ['192.88.99.0', 24, 'reserved (6to4 relay)'],
    ['192.168.0.0', 16, 'private'],
    ['198.18.0.0', 15, 'benchmarking'],
    ['198.51.100.0', 24, 'documentation'],
    ['203.0.113.0', 24, 'documentation'],
    ['224.0.0.0', 4, 'multicast'],
    ['255.255.255.255', 32, 'broadcast'],
    ['240.0.0.0', 4, 'reserved'],
  ] as const
).map(([base, bits, kind]) => [v4(base), bits, kind] as const);

function inV4(address: number, base: number, bits: number): boolean {
  const size = 2 ** (32 - bits);
  return address >= base && address < base + size;
}

function classifyV4Number(address: number): NonPublicKind | undefined {
  for (const [base, bits, kind] of V4_RANGES) {
    if (inV4(address, base, bits)) return `${kind} (${formatV4(base)}/${bits})`;
  }
  return undefined;
}

function formatV4(address: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.');
}

/** The eight 16-bit groups of a valid IPv6 text (dotted IPv4 tail included). */
export function ipv6Groups(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let source = text;
  const lastColon = source.lastIndexOf(':');
  const tail = source.slice(lastColon + 1);
  if (tail.includes('.')) {
    const value = v4(tail);
    source = `${source.slice(0, lastColon + 1)}${Math.floor(value / 65536).toString(16)}:${(value % 65536).toString(16)}`;
  }
  const [head = '', rest] = source.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const restParts = rest === undefined ? undefined : rest === '' ? [] : rest.split(':');
  const parts =
    restParts === undefined
      ? headParts
      : [...headParts, ...Array<string>(8 - headParts.length - restParts.length).fill('0'), ...restParts];
  return parts.length === 8 ? parts.map((part) => parseInt(part, 16)) : undefined;
}

function v6ToBigInt(groups: readonly number[]): bigint {
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(group), 0n);
}

type V6Range = readonly [base: bigint, bits: number, kind: string, label: string];

function v6Range(text: string, bits: number, kind: string): V6Range {
  return [v6ToBigInt(ipv6Groups(text)!), bits, kind, `${text}/${bits}`];
}

/** Ranges judged by the IPv4 address in their low 32 bits. */
const V6_EMBEDDING: readonly V6Range[] = [v6Range('::ffff:0:0', 96, 'IPv4-mapped'), v6Range('64:ff9b::', 96, 'NAT64')];

const V6_RANGES: readonly V6Range[] = [
  v6Range('::', 128, 'unspecified'),
  v6Range('::1', 128, 'loopback'),
  v6Range('::', 96, 'IPv4-compatible (deprecated)'),
  v6Range('64:ff9b:1::', 48, 'local-use NAT64'),
  v6Range('100::', 64, 'discard-only'),
  v6Range('2001::', 32, 'Teredo tunnel'),
  v6Range('2001:2::', 48, 'benchmarking'),
  v6Range('2001:db8::', 32, 'documentation'),
  v6Range('2001:10::', 28, 'ORCHID'),
  v6Range('2001:20::', 28, 'ORCHIDv2'),
  v6Range('3fff::', 20, 'documentation'),
  v6Range('fc00::', 7, 'unique local'),
  v6Range('fe80::', 10, 'link-local'),
  v6Range('fec0::', 10, 'site-local (deprecated)'),
  v6Range('ff00::', 8, 'multicast'),
];

function inV6(address: bigint, base: bigint, bits: number): boolean {
  return address >> BigInt(128 - bits) === base >> BigInt(128 - bits);
}

function classifyV6(groups: readonly number[]): NonPublicKind | undefined {
  const address = v6ToBigInt(groups);
  for (const [base, bits, kind, label] of V6_EMBEDDING) {
    if (!inV6(address, base, bits)) continue;
    const embedded = Number(address & 0xffffffffn);
    const inner = classifyV4Number(embedded);
    return inner === undefined ? undefined : `${inner} as ${kind} ${label}: ${formatV4(embedded)}`;
  }
  const sixToFour = v6Range('2002::', 16, '6to4');
  if (inV6(address, sixToFour[0], 16)) {
    const embedded = Number((address >> 80n) & 0xffffffffn);
    const inner = classifyV4Number(embedded);
    return inner === undefined ? undefined : `${inner} as 6to4 2002::/16: ${formatV4(embedded)}`;
  }
  for (const [base, bits, kind, label] of V6_RANGES) {
    if (inV6(address, base, bits)) return `${kind} (${label})`;
  }
  // Only global unicast (2000::/3) is public; everything else is reserved by IANA.
  if (!inV6(address, 1n << 125n, 3)) return 'reserved (outside global unicast 2000::/3)';
  return undefined;
}

/**
 * Why `address` (an IP literal: dotted IPv4, or IPv6 without brackets) is not a public
 * destination, or `undefined` when it is public. Text that is not an IP address is reported
 * as not public, so a caller can never mistake a parse failure for permission.
 */
export function nonPublicReason(address: string): NonPublicKind | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(bare)) return classifyV4Number(v4(bare));
  const groups = ipv6Groups(bare);
  if (groups) return classifyV6(groups);
  return `not an IP address`;
}

/** Whether `host` (a URL hostname, brackets allowed) is an IP literal rather than a name. */
export function isIpLiteral(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIPv4(bare) || isIPv6(bare);
}
