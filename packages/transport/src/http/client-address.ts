import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** Most `X-Forwarded-For` hops looked at: a longer chain is as good as forged. */
const MAX_FORWARDED_HOPS = 32;

/**
 * The proxies whose `X-Forwarded-For` is believed, from a list of addresses,
 * CIDR ranges (`10.0.0.0/8`, `fd00::/8`) and the word `loopback`
 * (127.0.0.0/8 and ::1). Throws a `TypeError` naming a bad entry.
 * @example
 * const proxies = trustedProxies(['loopback', '10.1.2.0/24']);
 */
export function trustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === 'loopback') {
      list.addSubnet('127.0.0.0', 8, 'ipv4');
      list.addAddress('::1', 'ipv6');
      continue;
    }
    const [address = '', bits, extra] = entry.split('/');
    const family = isIP(address);
    const prefix = bits === undefined ? undefined : Number(bits);
    const max = family === 4 ? 32 : 128;
    if (
      family === 0 ||
      extra !== undefined ||
      (prefix !== undefined && (!Number.isInteger(prefix) || prefix < 0 || prefix > max))
    ) {
      throw new TypeError(
        `option trustProxy: ${JSON.stringify(raw)} is not an IP address, a CIDR range (such as 10.0.0.0/8) or "loopback"`,
      );
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  }
  return list;
}

/** An IPv4 address seen through an IPv6 socket (`::ffff:127.0.0.1`) in its plain form. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function trusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The address of the client that sent a request. The socket's peer, unless
 * that peer is a trusted proxy: then `X-Forwarded-For` is read from the right
 * (the hop the proxy itself added) past every trusted proxy, and the first
 * address not trusted is the client. Nothing the client wrote is believed
 * unless a trusted proxy vouches for it; a malformed hop stops the walk.
 */
export function clientAddress(req: IncomingMessage, proxies: BlockList | undefined): string {
  let address = plain(req.socket.remoteAddress ?? 'unknown');
  if (!proxies || !trusted(proxies, address)) return address;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').slice(-MAX_FORWARDED_HOPS);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plain(hops[i]!.trim());
    if (isIP(hop) === 0) return address;
    address = hop;
    if (!trusted(proxies, hop)) return hop;
  }
  return address;
}
