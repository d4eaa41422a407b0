/**
 * What a tool may put in a request: its body (a string, capped) and its
 * headers (valid tokens and values, at most 64, minus the ones the boundary
 * owns and sets itself).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { EgressError } from './errors.ts';

/** Headers the boundary owns: the tool may not set them (framing, routing, proxies, compression). */
const OWNED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'expect',
  'accept-encoding',
  'http2-settings',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const MAX_HEADERS = 64;

export function bodyOf(body: unknown, max: number): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'string')
    throw new EgressError('bad_request', 'The request body must be a string (use JSON.stringify).');
  const bytes = Buffer.from(body, 'utf8');
  if (bytes.length > max)
    throw new EgressError('too_large', `The request body is larger than ${max} bytes.`);
  return bytes;
}

export function toolHeaders(raw: unknown): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
  if (raw === undefined || raw === null) return out;
  const entries: unknown[] = Array.isArray(raw)
    ? raw
    : typeof raw === 'object'
      ? Object.entries(raw as Record<string, unknown>)
      : [null];
  if (entries.length > MAX_HEADERS)
    throw new EgressError('bad_request', `At most ${MAX_HEADERS} headers are allowed.`);
  for (const entry of entries) {
    if (
      !Array.isArray(entry) ||
      entry.length !== 2 ||
      typeof entry[0] !== 'string' ||
      typeof entry[1] !== 'string'
    ) {
      throw new EgressError(
        'bad_request',
        'Headers must be an object of strings or a list of [name, value] string pairs.',
      );
    }
    const [name, value] = entry as [string, string];
    if (!TOKEN.test(name) || name.length > 256)
      throw new EgressError('bad_request', 'A header name is not a valid HTTP token.');
    // eslint-disable-next-line no-control-regex
    if (/[\r\n\u0000]/.test(value) || value.length > 8192)
      throw new EgressError(
        'bad_request',
        `The value of header ${name} is not allowed (line breaks, NUL, or longer than 8192).`,
      );
    const lower = name.toLowerCase();
    if (OWNED_HEADERS.has(lower)) continue; // the boundary sets these itself
    out[lower] = value;
  }
  return out;
}
