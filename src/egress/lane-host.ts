/**
 * A credential lane's host as the egress boundary matches it: host, port and
 * the scheme the credential may travel over. Matching host and port alone
 * let `http://api.example:443/` carry a TLS lane's credential in clear text.
 */
import { normaliseAddress } from './ip-normalise.ts';

export interface LaneHost {
  host: string;
  port: number;
  /** Default `https`. `http` only for loopback IP literals (see isLoopbackLiteral). */
  scheme?: 'https' | 'http' | undefined;
}

/** 127.0.0.0/8 or ::1 written as an IP literal (never a name: a resolver decides where a name goes). */
export function isLoopbackLiteral(host: string): boolean {
  const n = normaliseAddress(host);
  if (!n) return false;
  const v4 = n.family === 4 ? n.address : n.embeddedV4;
  if (v4 !== undefined) return v4.startsWith('127.');
  return n.address === '::1';
}

/** Refuses a plain-http lane host that is not a loopback literal (a grant built outside the config schema). */
export function checkLaneHost(lane: string, h: LaneHost): void {
  if ((h.scheme ?? 'https') === 'http' && !isLoopbackLiteral(h.host))
    throw new TypeError(
      `Lane ${lane}: scheme http is only allowed for a loopback IP literal, got ${JSON.stringify(h.host)}`,
    );
}
