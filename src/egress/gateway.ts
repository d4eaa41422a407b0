/**
 * The egress boundary: the one place a tool's HTTP request leaves the
 * runner, for both sandboxes (JS `ctx.fetch` over the worker's IPC bridge;
 * Docker through the Unix-socket proxy). Per request, in this order:
 *
 *   parse URL → allowlist (host:port from the pinned manifest) → resolve
 *   and check every address → inject the lanes bound to exactly this
 *   host:port → send to the pinned address (no redirects followed) → cap
 *   size and time → scan the response for this run's credentials.
 *
 * Credentials reach the boundary as grants keyed by the run's invocation id
 * (the CredentialProvider makes them while leasing, before the run starts,
 * and revokes them on release). The sandbox never holds an `egress` lane's
 * value: it is added here, after the allowlist check, and only when the
 * connection's destination (the URL's host and port the boundary resolved
 * and connects to, not a Host header) is one of that lane's own hosts.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { SandboxTool } from '../ports/sandbox.ts';
import { LeakScanner } from '../validation/leak-scan.ts';
import { AddressPolicy, type PrivateAddressAllowance } from './address-policy.ts';
import { Allowlist, parseTarget, type EgressRule, type Target } from './allowlist.ts';
import { EgressError } from './errors.ts';
import { resolveChecked, sendOutbound, systemResolver, type Resolver } from './outbound.ts';

/** A credential the boundary adds to requests bound for its lane's hosts. */
export interface EgressGrant {
  lane: string;
  hosts: readonly EgressRule[];
  /** Header name, e.g. `Authorization`. */
  header: string;
  /** The whole header value, e.g. `Bearer <token>`. */
  headerValue: string;
  /** The raw secret, for leak scans. */
  secret: string;
}

/** What a tool asks for (JSON over the bridge, or parsed from the proxy's request). */
export interface EgressRequest {
  url: string;
  method?: string;
  headers?: Record<string, string> | Array<[string, string]>;
  /** UTF-8 text. */
  body?: string;
}

export interface EgressResponse {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  /** The body as UTF-8 text. */
  body: string;
  url: string;
}

/** One line of the egress log. Names hosts, lanes and sizes; never a header value, a body or a path. */
export interface EgressEvent {
  invocationId: string;
  toolId: string;
  method: string;
  host: string;
  port: number;
  outcome: 'sent' | 'refused' | 'failed';
  status?: number;
  reason?: string;
  /** Lanes whose credential was added to this request. */
  injected: string[];
  responseBytes?: number;
  durationMs: number;
}

export interface EgressLimits {
  /** Per response body (default 1 MiB). */
  maxResponseBytes: number;
  /** Per request body (default 256 KiB). */
  maxRequestBytes: number;
  /** Per request, further capped by the run's deadline (default 10 000). */
  requestTimeoutMs: number;
  /** Per run (default 32). */
  maxRequestsPerRun: number;
}

export const DEFAULT_EGRESS_LIMITS: EgressLimits = {
  maxResponseBytes: 1024 * 1024,
  maxRequestBytes: 256 * 1024,
  requestTimeoutMs: 10_000,
  maxRequestsPerRun: 32,
};

export interface EgressGatewayOptions {
  /** The tool's allowlist, from its pinned manifest; undefined or empty: `network: none`. */
  rulesFor(tool: SandboxTool): readonly EgressRule[] | undefined;
  /** Named unsafe: lets tools reach private, loopback and link-local addresses (tests on 127.0.0.1). Default false. */
  unsafeAllowPrivateAddresses?: PrivateAddressAllowance;
  /** DNS; tests inject a hostile one. Default: the system resolver. */
  resolver?: Resolver;
  limits?: Partial<EgressLimits>;
  onEvent?(event: EgressEvent): void;
  now?: () => number;
}

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
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const MAX_HEADERS = 64;

interface GrantRecord {
  toolId: string;
  grants: EgressGrant[];
}

export class EgressGateway {
  readonly #o: EgressGatewayOptions;
  readonly #policy: AddressPolicy;
  readonly #limits: EgressLimits;
  readonly #grants = new Map<string, GrantRecord>();

  constructor(options: EgressGatewayOptions) {
    if (typeof options?.rulesFor !== 'function')
      throw new TypeError(
        `Expected options.rulesFor to be a function, got ${typeof options?.rulesFor}`,
      );
    this.#o = options;
    this.#policy = new AddressPolicy(options.unsafeAllowPrivateAddresses ?? false);
    this.#limits = { ...DEFAULT_EGRESS_LIMITS, ...options.limits };
    for (const [k, v] of Object.entries(this.#limits)) {
      if (!Number.isInteger(v) || v <= 0)
        throw new TypeError(
          `Expected options.limits.${k} to be a positive integer, got ${String(v)}`,
        );
    }
  }

  get limits(): Readonly<EgressLimits> {
    return this.#limits;
  }

  /**
   * Registers the credentials one run's requests may carry; returns the revoke
   * function (called on lease release). A second grant for the same run is a bug.
   */
  grant(invocationId: string, toolId: string, grants: EgressGrant[]): () => void {
    if (this.#grants.has(invocationId))
      throw new Error(`egress grants for ${invocationId} already exist`);
    const record: GrantRecord = { toolId, grants: [...grants] };
    this.#grants.set(invocationId, record);
    return () => {
      if (this.#grants.get(invocationId) === record) this.#grants.delete(invocationId);
      record.grants.length = 0;
    };
  }

  /** The boundary for one run, or undefined when the tool has no egress (`network: none`). */
  open(
    request: { invocationId: string; tool: SandboxTool },
    deadlineMs: number,
  ): EgressSession | undefined {
    const rules = this.#o.rulesFor(request.tool);
    if (!rules || rules.length === 0) return undefined;
    const record = this.#grants.get(request.invocationId);
    // Grants are bound to the tool they were leased for; any other tool gets none.
    const grants = record && record.toolId === request.tool.id ? record.grants : [];
    return new EgressSession({
      invocationId: request.invocationId,
      toolId: request.tool.id,
      allowlist: new Allowlist(rules),
      grants,
      deadlineMs,
      policy: this.#policy,
      resolver: this.#o.resolver ?? systemResolver,
      limits: this.#limits,
      onEvent: this.#o.onEvent ?? (() => {}),
      now: this.#o.now ?? Date.now,
    });
  }
}

interface SessionOptions {
  invocationId: string;
  toolId: string;
  allowlist: Allowlist;
  /** Live view: emptied when the lease is released. */
  grants: EgressGrant[];
  deadlineMs: number;
  policy: AddressPolicy;
  resolver: Resolver;
  limits: EgressLimits;
  onEvent(event: EgressEvent): void;
  now(): number;
}

export class EgressSession {
  readonly #o: SessionOptions;
  readonly #closed = new AbortController();
  #count = 0;

  constructor(options: SessionOptions) {
    this.#o = options;
  }

  get allowlist(): Allowlist {
    return this.#o.allowlist;
  }

  /** Ends the session: in-flight requests are aborted, later ones refused. */
  close(): void {
    this.#closed.abort();
  }

  /** The bridge's form: JSON in, JSON out, errors as `{ error }`, never a throw. */
  async fetchJson(requestJson: string): Promise<string> {
    try {
      let parsed: unknown;
      try {
        parsed = JSON.parse(requestJson);
      } catch {
        throw new EgressError('bad_request', 'The request is not JSON.');
      }
      return JSON.stringify({ response: await this.fetch(parsed as EgressRequest) });
    } catch (err) {
      return JSON.stringify({
        error:
          err instanceof EgressError
            ? { kind: err.kind, message: err.message }
            : { kind: 'network', message: 'The request failed.' },
      });
    }
  }

  async fetch(request: EgressRequest): Promise<EgressResponse> {
    const started = this.#o.now();
    const method = typeof request?.method === 'string' ? request.method.toUpperCase() : 'GET';
    let target: Target | undefined;
    const injected: string[] = [];
    try {
      if (this.#closed.signal.aborted)
        throw new EgressError('closed', 'The run is over; no more requests.');
      if (++this.#count > this.#o.limits.maxRequestsPerRun)
        throw new EgressError(
          'limit',
          `A run may make at most ${this.#o.limits.maxRequestsPerRun} requests.`,
        );
      target = parseTarget(request?.url);
      if (!METHODS.has(method))
        throw new EgressError('bad_request', `The method ${method.slice(0, 20)} is not allowed.`);
      if (!this.#o.allowlist.allows(target.host, target.port)) {
        throw new EgressError(
          'not_allowed',
          `${target.host}:${target.port} is not on this tool's egress allowlist (allowed: ${this.#o.allowlist.describe()}).`,
        );
      }
      const body = bodyOf(request.body, this.#o.limits.maxRequestBytes);
      const headers = toolHeaders(request.headers);
      const remaining = this.#o.deadlineMs - this.#o.now();
      if (remaining <= 0)
        throw new EgressError('timeout', 'The run has no time left for a request.');
      const address = await resolveChecked(target, this.#o.resolver, this.#o.policy);

      // Injection, after every check: only the lanes bound to this exact destination.
      const t = target;
      const here = this.#o.grants.filter((g) =>
        g.hosts.some((h) => new Allowlist([h]).allows(t.host, t.port)),
      );
      const elsewhere = this.#o.grants.filter((g) => !here.includes(g));
      if (elsewhere.length > 0) {
        // A tool that was shown a value (expose: env/file) must not send it to a host that is not its lane's.
        const scanner = new LeakScanner(elsewhere.map((g) => g.secret));
        const outgoingText = `${target.url.href}\n${Object.entries(headers)
          .map(([k, v]) => `${k}: ${String(v)}`)
          .join('\n')}\n${body?.toString('utf8') ?? ''}`;
        if (scanner.found(outgoingText))
          throw new EgressError(
            'leak',
            `The request to ${target.host}:${target.port} carried a credential of this run that is not for that host; it was not sent.`,
          );
      }
      for (const g of here) {
        for (const k of Object.keys(headers))
          if (k.toLowerCase() === g.header.toLowerCase()) delete headers[k];
        headers[g.header] = g.headerValue;
        injected.push(g.lane);
      }
      const defaultPort = target.secure ? 443 : 80;
      headers.host = `${target.url.hostname}${target.port === defaultPort ? '' : `:${target.port}`}`;
      headers['accept-encoding'] = 'identity';
      headers.connection = 'close';
      if (body !== undefined) headers['content-length'] = String(body.length);

      const res = await sendOutbound({
        target,
        address,
        method,
        headers,
        body,
        timeoutMs: Math.max(1, Math.min(this.#o.limits.requestTimeoutMs, remaining)),
        maxResponseBytes: this.#o.limits.maxResponseBytes,
        signal: this.#closed.signal,
      });
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
        pairs.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
      const text = res.body.toString('utf8');
      const secrets = this.#o.grants.map((g) => g.secret);
      if (secrets.length > 0) {
        const scanner = new LeakScanner(secrets);
        if (scanner.found(text) || scanner.found(pairs.map(([k, v]) => `${k}: ${v}`).join('\n'))) {
          throw new EgressError(
            'leak',
            `The response from ${target.host}:${target.port} carried a credential of this run; it was withheld from the tool.`,
          );
        }
      }
      this.#event({
        method,
        target,
        outcome: 'sent',
        status: res.status,
        injected,
        responseBytes: res.body.length,
        started,
      });
      return {
        status: res.status,
        statusText: res.statusText,
        headers: pairs,
        body: text,
        url: target.url.href,
      };
    } catch (err) {
      const e =
        err instanceof EgressError ? err : new EgressError('network', 'The request failed.');
      const refused =
        e.kind === 'not_allowed' ||
        e.kind === 'address_forbidden' ||
        e.kind === 'bad_request' ||
        e.kind === 'limit' ||
        e.kind === 'leak' ||
        e.kind === 'closed';
      this.#event({
        method,
        target,
        outcome: refused ? 'refused' : 'failed',
        reason: e.message,
        injected,
        started,
      });
      throw e;
    }
  }

  #event(e: {
    method: string;
    target: Target | undefined;
    outcome: EgressEvent['outcome'];
    status?: number;
    reason?: string;
    injected: string[];
    responseBytes?: number;
    started: number;
  }): void {
    try {
      this.#o.onEvent({
        invocationId: this.#o.invocationId,
        toolId: this.#o.toolId,
        method: e.method.slice(0, 20),
        host: e.target?.host ?? '(unparsed)',
        port: e.target?.port ?? 0,
        outcome: e.outcome,
        ...(e.status !== undefined ? { status: e.status } : {}),
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
        injected: e.injected,
        ...(e.responseBytes !== undefined ? { responseBytes: e.responseBytes } : {}),
        durationMs: this.#o.now() - e.started,
      });
    } catch {
      // a failing log sink must not change the request's outcome
    }
  }
}

function bodyOf(body: unknown, max: number): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'string')
    throw new EgressError('bad_request', 'The request body must be a string (use JSON.stringify).');
  const bytes = Buffer.from(body, 'utf8');
  if (bytes.length > max)
    throw new EgressError('too_large', `The request body is larger than ${max} bytes.`);
  return bytes;
}

function toolHeaders(raw: unknown): OutgoingHttpHeaders {
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
