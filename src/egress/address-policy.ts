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
import { normaliseAddress } from './ip-normalise.ts';

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
  ['64:ff9b:1::', 48, 'local-use NAT64 (RFC 8215)'],
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

/**
 * Why an address is special-purpose (e.g. "loopback"), or undefined for a
 * public unicast address. The address is normalised first (see
 * ip-normalise.ts), so no spelling of a forbidden address passes.
 */
export function forbiddenReason(ip: string): string | undefined {
  const n = normaliseAddress(ip);
  if (!n) return 'not an IP address';
  if (n.embeddedV4 !== undefined) return FORBIDDEN.why(n.embeddedV4, 'ipv4');
  return FORBIDDEN.why(n.address, n.family === 6 ? 'ipv6' : 'ipv4');
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
    const n = normaliseAddress(ip);
    if (!n) return reason;
    if (
      this.#allowed &&
      (n.embeddedV4 !== undefined
        ? this.#allowed.check(n.embeddedV4, 'ipv4')
        : this.#allowed.check(n.address, n.family === 6 ? 'ipv6' : 'ipv4'))
    )
      return undefined;
    return reason;
  }
}
