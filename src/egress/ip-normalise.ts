/**
 * One spelling per IP address, before any policy looks at it. A resolver
 * (or a URL) may spell the same address many ways: `0:0:0:0:0:ffff:7f00:1`,
 * `::ffff:127.0.0.1` and `::ffff:7f00:1` are all 127.0.0.1. Matching spellings
 * with patterns misses some; parsing to the eight 16-bit groups does not.
 */
import { isIP } from 'node:net';

export interface NormalAddress {
  /** IPv4 dotted quad, or RFC 5952 compressed lower-case IPv6. */
  address: string;
  family: 4 | 6;
  /** For an IPv6 address that carries an IPv4 one (mapped, compatible, SIIT, well-known NAT64): that IPv4 address. */
  embeddedV4?: string;
}

/** The parsed, canonical form of `ip` (a zone id such as `%eth0` is dropped), or undefined when it is not an IP address. */
export function normaliseAddress(ip: string): NormalAddress | undefined {
  const bare = ip.trim().replace(/^\[|\]$/g, '');
  const noZone = bare.includes(':') ? bare.replace(/%.*$/, '') : bare;
  const family = isIP(noZone);
  if (family === 4) return { address: noZone.split('.').map(Number).join('.'), family: 4 };
  if (family !== 6) return undefined;
  const groups = parseV6(noZone.toLowerCase());
  if (!groups) return undefined;
  const v4 = embedded(groups);
  return {
    address: formatV6(groups),
    family: 6,
    ...(v4 !== undefined ? { embeddedV4: v4 } : {}),
  };
}

function parseV6(text: string): number[] | undefined {
  let s = text;
  const tail: number[] = [];
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (dotted) {
    const o = dotted.slice(1).map(Number);
    tail.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!);
    s = s.slice(0, dotted.index);
    if (!s.endsWith('::')) s = s.slice(0, -1); // the ':' before the dotted quad
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const part = (h: string): number[] => (h === '' ? [] : h.split(':').map((g) => parseInt(g, 16)));
  const head = part(halves[0]!);
  const rest = halves.length === 2 ? part(halves[1]!) : [];
  const fill = 8 - tail.length - head.length - rest.length;
  if (halves.length === 1 && fill !== 0) return undefined;
  if (fill < 0) return undefined;
  const groups = [
    ...head,
    ...Array<number>(halves.length === 2 ? fill : 0).fill(0),
    ...rest,
    ...tail,
  ];
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff))
    return undefined;
  return groups;
}

function v4Of(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** IPv4-mapped (::ffff:0:0/96), SIIT (::ffff:0:0:0/96), IPv4-compatible (::/96, deprecated) and well-known NAT64 (64:ff9b::/96). */
function embedded(g: number[]): string | undefined {
  const zeros = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return v4Of(g[6]!, g[7]!);
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return v4Of(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4Of(g[6]!, g[7]!);
  // ::/96 except :: and ::1 themselves (the IPv6 unspecified and loopback addresses).
  if (zeros(0, 6) && !(g[6] === 0 && (g[7] === 0 || g[7] === 1))) return v4Of(g[6]!, g[7]!);
  return undefined;
}

/** RFC 5952: lower case, leading zeros dropped, the longest run (≥ 2) of zero groups as `::`. */
function formatV6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
