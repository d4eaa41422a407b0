/**
 * Which IP addresses a tool's egress may connect to. Deny by default: every
 * special-purpose range (RFC 6890 and its IANA registries) is refused, so a
 * tool cannot reach the runner's own loopback services, the private network,
 * link-local neighbours or a cloud metadata endpoint (169.254.169.254,
 * fd00:ec2::254) through a name it was allowed to use.
 *
 * The check runs on the address the connection will use, after resolution
 * (see `pinnedLookup`), never on the name: a name on the allowlist that
 * resolves to 10.0.0.5 is refused.
 */
import { BlockList, isIP } from 'node:net';

/** IPv4 ranges that are never public unicast destinations. */
const V4_FORBIDDEN: ReadonlyArray<[string, number, string]> = [
  ['0.0.0.0', 8, 'this network'],
  ['10.0.0.0', 8, 'private (RFC 1918)'],
  ['100.64.0.0', 10, 'shared address space (RFC 6598)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata lives here)'],
  ['172.16.0.0', 12, 'private (RFC 1918)'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private (RFC 1918)'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

/** IPv6 ranges that are never public unicast destinations (IPv4-mapped and NAT64 forms are checked by their embedded IPv4 address). */
const V6_FORBIDDEN: ReadonlyArray<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['100::', 64, 'discard-only'],
  ['2001::', 23, 'IETF protocol assignments'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, '6to4'],
  ['fc00::', 7, 'unique local (cloud metadata fd00:ec2::254 lives here)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local (deprecated)'],
  ['ff00::', 8, 'multicast'],
];

function blockList(
  v4: ReadonlyArray<[string, number, string]>,
  v6: ReadonlyArray<[string, number, string]>,
): { why: (ip: string, family: 'ipv4' | 'ipv6') => string | undefined } {
  const lists = [
    ...v4.map(([a, p, w]) => ({ family: 'ipv4' as const, a, p, w })),
    ...v6.map(([a, p, w]) => ({ family: 'ipv6' as const, a, p, w })),
  ].map((r) => {
    const l = new BlockList();
    l.addSubnet(r.a, r.p, r.family);
    return { ...r, l };
  });
  return {
    // Node's BlockList matches an IPv4 address against IPv4-mapped IPv6 subnets; checking each
    // rule in its own family keeps ::/128 from swallowing every IPv4 address.
    why: (ip, family) => lists.find((r) => r.family === family && r.l.check(ip, family))?.w,
  };
}

const FORBIDDEN = blockList(V4_FORBIDDEN, V6_FORBIDDEN);

/** The IPv4 address embedded in an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible or NAT64 (64:ff9b::/96) IPv6 address. */
export function embeddedIpv4(ip: string): string | undefined {
  const lower = ip.toLowerCase();
  const dotted = /^(?:::ffff:|::ffff:0:|64:ff9b::|::)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** Why an address is special-purpose (e.g. "loopback"), or undefined for a public unicast address. */
export function forbiddenReason(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const v4 = embeddedIpv4(ip);
    if (v4 !== undefined) return forbiddenReason(v4);
    return FORBIDDEN.why(ip, 'ipv6');
  }
  return FORBIDDEN.why(ip, 'ipv4');
}

/**
 * `unsafeAllowPrivateAddresses` from the runner's config: `false` (the
 * default) refuses every special-purpose address; a list of CIDRs allows
 * just those (tests use `["127.0.0.1/32"]`); `true` allows them all.
 */
export type PrivateAddressAllowance = boolean | readonly string[];

export class AddressPolicy {
  readonly #allowAll: boolean;
  readonly #allowed: BlockList | undefined;

  constructor(unsafeAllowPrivateAddresses: PrivateAddressAllowance = false) {
    if (typeof unsafeAllowPrivateAddresses === 'boolean') {
      this.#allowAll = unsafeAllowPrivateAddresses;
      return;
    }
    if (!Array.isArray(unsafeAllowPrivateAddresses))
      throw new TypeError(
        `Expected unsafeAllowPrivateAddresses to be a boolean or a list of CIDRs, got ${typeof unsafeAllowPrivateAddresses}`,
      );
    this.#allowAll = false;
    this.#allowed = new BlockList();
    for (const cidr of unsafeAllowPrivateAddresses) {
      const [address, prefix] = cidr.split('/');
      const family = isIP(address ?? '');
      const bits = Number(prefix ?? (family === 6 ? 128 : 32));
      if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) {
        throw new TypeError(
          `Expected a CIDR like 127.0.0.1/32 in unsafeAllowPrivateAddresses, got ${JSON.stringify(cidr)}`,
        );
      }
      this.#allowed.addSubnet(address!, bits, family === 6 ? 'ipv6' : 'ipv4');
    }
  }

  /** Undefined when the address may be connected to; otherwise why not, for the tool's error message. */
  refusal(ip: string): string | undefined {
    const reason = forbiddenReason(ip);
    if (reason === undefined || this.#allowAll) return undefined;
    const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    const v4 = family === 'ipv6' ? embeddedIpv4(ip) : undefined;
    if (this.#allowed && (v4 ? this.#allowed.check(v4, 'ipv4') : this.#allowed.check(ip, family)))
      return undefined;
    return reason;
  }
}
