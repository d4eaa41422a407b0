/**
 * A tool's egress allowlist: exact host:port pairs from its pinned manifest
 * (`network: { egress: [{ host, port }] }`). No wildcards, no schemes, no
 * paths: the pair names the connection, and nothing the tool sends after
 * the connection is chosen (a Host header, an absolute URI) can widen it.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { EgressError } from './errors.ts';

export interface EgressRule {
  host: string;
  port: number;
}

/** Lower-case ASCII (IDNA) form without brackets or a trailing dot, so `API.GitHub.com.` and `api.github.com` are one host. */
export function normaliseHost(host: string): string {
  let h = host.trim();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (isIP(h)) return h.toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  return domainToASCII(h).toLowerCase();
}

export class Allowlist {
  readonly #pairs: Set<string>;
  readonly rules: readonly EgressRule[];

  constructor(rules: readonly EgressRule[]) {
    this.rules = rules.map((r) => ({ host: normaliseHost(r.host), port: r.port }));
    this.#pairs = new Set(this.rules.map((r) => `${r.host}:${r.port}`));
  }

  get empty(): boolean {
    return this.#pairs.size === 0;
  }

  allows(host: string, port: number): boolean {
    return this.#pairs.has(`${normaliseHost(host)}:${port}`);
  }

  describe(): string {
    return this.rules.length === 0
      ? 'none'
      : this.rules
          .map((r) => `${r.host.includes(':') ? `[${r.host}]` : r.host}:${r.port}`)
          .join(', ');
  }
}

export interface Target {
  url: URL;
  /** Normalised host name or IP literal, as the allowlist knows it. */
  host: string;
  port: number;
  secure: boolean;
}

/** Parses a tool's URL: http(s) only, no credentials in it, an explicit or default port. */
export function parseTarget(raw: unknown): Target {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 8192)
    throw new EgressError('bad_request', 'The URL must be a string of at most 8192 characters.');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EgressError('bad_request', 'The URL is not an absolute http(s) URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new EgressError(
      'bad_request',
      `Only http and https URLs are allowed, not ${url.protocol.slice(0, 20)}`,
    );
  if (url.username || url.password)
    throw new EgressError('bad_request', 'URLs with user names or passwords are refused.');
  const secure = url.protocol === 'https:';
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  url.hash = '';
  return { url, host: normaliseHost(url.hostname), port, secure };
}
