import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { isIpLiteral, nonPublicReason } from './address.js';
import { InvalidUrlError, SsrfBlockedError, UnsupportedSchemeError } from './errors.js';

/**
 * Resolves a host name to every address it has (like `dns.lookup(name, { all: true })`).
 * Injected in tests so no query leaves the machine; `family` is 0 (any), 4 or 6.
 */
export type HostResolver = (hostname: string, family: 0 | 4 | 6) => Promise<LookupAddress[]>;

/** The system resolver (`getaddrinfo`, which reads /etc/hosts). */
export const systemResolver: HostResolver = (hostname, family) => dnsLookup(hostname, { all: true, family });

interface AllowEntry {
  host: string;
  /** Undefined: any port of the host. */
  port: number | undefined;
}

const ENTRY = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/;

/** Canonical host as the WHATWG URL parser writes it (IPv6 without brackets, no trailing dot). */
function canonicalHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase().replace(/\.$/, '');
}

/**
 * Parses `HTTP_ALLOW_HOSTS` entries (`host` or `host:port`, IPv6 in brackets). Hosts are
 * canonicalised by the URL parser, so `2130706433` and `127.0.0.1` are the same entry.
 * @throws TypeError naming the entry that is not a host or host:port.
 */
function parseAllowList(entries: readonly string[]): AllowEntry[] {
  return entries.map((raw) => {
    const entry = raw.trim();
    const match = ENTRY.exec(entry);
    let host: string | undefined;
    if (match) {
      try {
        host = new URL(`http://${match[1]}/`).hostname;
      } catch {
        host = undefined;
      }
    }
    const port = match?.[2] === undefined ? undefined : Number(match[2]);
    if (!match || host === undefined || (port !== undefined && port > 65535)) {
      throw new TypeError(
        `HTTP_ALLOW_HOSTS: entry ${JSON.stringify(raw)} is not a host or host:port (e.g. "api.example.com", "127.0.0.1:8080", "[::1]:3000")`,
      );
    }
    return { host: canonicalHost(host), port };
  });
}

/** The `url` of errors raised in the connector, which knows no URL; the client puts the request's URL in. */
export const AT_CONNECT = '';

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/**
 * Where requests may go: http(s) only, public addresses only unless the host (or host:port)
 * is allow-listed. Checked twice: on the URL before a request (literal addresses, schemes),
 * and in the connector, on every address a name resolves to, right before the socket opens
 * (so a DNS answer that changes between the two cannot slip through).
 */
export class DestinationPolicy {
  readonly #allow: AllowEntry[];
  readonly #resolve: HostResolver;

  constructor(allowHosts: readonly string[], resolve: HostResolver = systemResolver) {
    this.#allow = parseAllowList(allowHosts);
    this.#resolve = resolve;
  }

  /** Whether the allow-list names this host (on any port, or on this one). */
  isAllowed(host: string, port: number): boolean {
    const canonical = canonicalHost(host);
    return this.#allow.some((entry) => entry.host === canonical && (entry.port === undefined || entry.port === port));
  }

  /**
   * Parses and checks a URL before any connection: scheme, credentials, literal addresses.
   * Names are checked later, at connect time, by {@link DestinationPolicy.connector}.
   */
  checkUrl(input: string | URL, base?: URL): URL {
    let url: URL;
    try {
      url = new URL(input, base);
    } catch {
      throw new InvalidUrlError(String(input), 'not an absolute http(s) URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UnsupportedSchemeError(url.href, url.protocol);
    if (url.username || url.password)
      throw new InvalidUrlError(
        url.href,
        'credentials in the URL (user:password@) are not sent; use an Authorization header',
      );
    if (url.hostname === '') throw new InvalidUrlError(url.href, 'no host');
    const port = url.port ? Number(url.port) : defaultPort(url.protocol);
    if (!this.isAllowed(url.hostname, port) && isIpLiteral(url.hostname)) {
      const kind = nonPublicReason(url.hostname);
      if (kind !== undefined) throw new SsrfBlockedError(url.href, url.hostname, canonicalHost(url.hostname), kind);
    }
    return url;
  }

  /**
   * An undici connector that refuses non-public destinations as the socket is opened: literal
   * addresses directly, names through a `lookup` that checks every address they resolve to.
   */
  connector(options: { timeoutMs: number }): buildConnector.connector {
    // Allow-listed hosts skip the check, not the resolver (tests resolve names without DNS).
    const direct = buildConnector({ timeout: options.timeoutMs, lookup: this.#lookup(false) });
    const guarded = buildConnector({ timeout: options.timeoutMs, lookup: this.#lookup(true) });
    return (connectOptions, callback) => {
      const { hostname, protocol } = connectOptions;
      const port = connectOptions.port ? Number(connectOptions.port) : defaultPort(protocol);
      if (this.isAllowed(hostname, port)) return direct(connectOptions, callback);
      if (isIpLiteral(hostname)) {
        const kind = nonPublicReason(hostname);
        if (kind !== undefined) return callback(new SsrfBlockedError(AT_CONNECT, hostname, hostname, kind), null);
        return direct(connectOptions, callback);
      }
      return guarded(connectOptions, callback);
    };
  }

  /** A `net.connect` lookup hook; with `check`, it refuses if ANY address is not public. */
  #lookup(check: boolean): LookupFunction {
    return (hostname, options, callback) => {
      const family = options.family === 4 || options.family === 6 ? options.family : 0;
      this.#resolve(hostname, family).then(
        (addresses) => {
          if (addresses.length === 0) {
            callback(Object.assign(new Error(`${hostname} has no addresses`), { code: 'ENOTFOUND' }), '');
            return;
          }
          for (const { address } of check ? addresses : []) {
            const kind = nonPublicReason(address);
            if (kind !== undefined) {
              callback(new SsrfBlockedError(AT_CONNECT, hostname, address, kind), '');
              return;
            }
          }
          if (options.all) callback(null, addresses);
          else callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), ''),
      );
    };
  }
}
