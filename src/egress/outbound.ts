/**
 * One outbound HTTP request to an address that has already been checked.
 *
 * DNS rebinding: the name is resolved once, every address it resolves to is
 * checked, and the connection is made to the checked address through a
 * `lookup` that returns only that address, so the socket cannot resolve the
 * name again and land somewhere else. TLS still verifies the certificate
 * against the name (`servername`), so pinning the IP costs no security.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './address-policy.ts';
import { EgressError } from './errors.ts';
import { normaliseAddress } from './ip-normalise.ts';
import type { Target } from './allowlist.ts';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all its addresses; injectable so that tests can play a hostile DNS server. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => {
  const all = await dnsLookup(hostname, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** Resolves `target.host` and checks every answer; one forbidden answer refuses the request (a mixed answer is a rebinding attempt). */
export async function resolveChecked(
  target: Target,
  resolver: Resolver,
  policy: AddressPolicy,
): Promise<ResolvedAddress> {
  let answers: ResolvedAddress[];
  const literal = isIP(target.host);
  if (literal) {
    answers = [{ address: target.host, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      answers = await resolver(target.host);
    } catch {
      throw new EgressError('network', `The name ${target.host} could not be resolved.`);
    }
  }
  if (answers.length === 0)
    throw new EgressError('network', `The name ${target.host} has no addresses.`);
  // Every answer in one spelling before the check, and the connection made to that spelling.
  const normal: ResolvedAddress[] = [];
  for (const a of answers) {
    const n = normaliseAddress(String(a?.address ?? ''));
    if (!n)
      throw new EgressError(
        'address_forbidden',
        `${target.host} resolves to something that is not an IP address; the request was not sent.`,
      );
    normal.push({ address: n.address, family: n.family });
  }
  for (const a of normal) {
    const why = policy.refusal(a.address);
    if (why !== undefined) {
      throw new EgressError(
        'address_forbidden',
        `${target.host} resolves to ${a.address}, a ${why} address; tools may only reach public addresses.`,
      );
    }
  }
  return normal[0]!;
}

/** A `lookup` for net.connect that answers with the one pinned address, whatever name it is asked about. */
export function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return ((
    _hostname: string,
    options: { all?: boolean },
    callback: (...args: unknown[]) => void,
  ) => {
    if (options?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  }) as unknown as LookupFunction;
}

export interface OutboundRequest {
  target: Target;
  address: ResolvedAddress;
  method: string;
  headers: OutgoingHttpHeaders;
  body: Buffer | undefined;
  timeoutMs: number;
  maxResponseBytes: number;
  signal?: AbortSignal;
}

export interface OutboundResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** Sends one request; never follows a redirect (a 3xx goes back to the tool as it is). */
export function sendOutbound(req: OutboundRequest): Promise<OutboundResponse> {
  const { target } = req;
  return new Promise<OutboundResponse>((resolve, reject) => {
    let settled = false;
    const fail = (err: EgressError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      outgoing.destroy();
      reject(err);
    };
    const send = target.secure ? httpsRequest : httpRequest;
    const outgoing = send({
      host: target.host,
      port: target.port,
      method: req.method,
      path: `${target.url.pathname}${target.url.search}`,
      headers: req.headers,
      lookup: pinnedLookup(req.address),
      family: req.address.family,
      agent: false,
      // RFC 6066 §3: no SNI for IP literals.
      ...(target.secure && !isIP(target.host) ? { servername: target.host } : {}),
    });
    const timer = setTimeout(
      () =>
        fail(
          new EgressError(
            'timeout',
            `The request to ${target.host}:${target.port} took longer than ${req.timeoutMs} ms.`,
          ),
        ),
      req.timeoutMs,
    );
    const onAbort = (): void =>
      fail(new EgressError('closed', 'The run ended before the response arrived.'));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (req.signal?.aborted) onAbort();
    outgoing.on('error', (err: NodeJS.ErrnoException) => {
      const tls = typeof err.code === 'string' && /CERT|SSL|TLS/.test(err.code);
      fail(
        new EgressError(
          'network',
          `The connection to ${target.host}:${target.port} failed${tls ? ' (TLS)' : ''}: ${err.code ?? 'error'}.`,
        ),
      );
    });
    outgoing.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > req.maxResponseBytes) {
          res.destroy();
          fail(
            new EgressError(
              'too_large',
              `The response from ${target.host}:${target.port} is larger than ${req.maxResponseBytes} bytes.`,
            ),
          );
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', () =>
        fail(
          new EgressError('network', `The response from ${target.host}:${target.port} broke off.`),
        ),
      );
      res.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks),
        });
      });
    });
    outgoing.end(req.body);
  });
}
