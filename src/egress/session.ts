/**
 * One run's side of the egress boundary (see gateway.ts for the order of the
 * checks): every request of the run goes through `fetch`, which refuses,
 * injects, sends and checks, and logs one event whatever the outcome.
 */
import { randomBytes } from 'node:crypto';
import { LeakScanner } from '../validation/leak-scan.ts';
import type { AddressPolicy } from './address-policy.ts';
import { Allowlist, parseTarget, type Target } from './allowlist.ts';
import { EgressError } from './errors.ts';
import { bodyOf, toolHeaders } from './request-shape.ts';
import { checkResponse, stripped } from './response-check.ts';
import { resolveChecked, sendOutbound, type Resolver } from './outbound.ts';
import type {
  EgressEvent,
  EgressGrant,
  EgressLimits,
  EgressRequest,
  EgressResponse,
} from './types.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

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
      const here = this.#lanesFor(target);
      if (here.length > 0 && (headers.range !== undefined || headers['if-range'] !== undefined))
        throw new EgressError(
          'bad_request',
          `Range requests to ${target.host}:${target.port} are refused: the request carries a credential, and a host that echoes it could hand it back in slices too short to scan.`,
        );
      const remaining = this.#o.deadlineMs - this.#o.now();
      if (remaining <= 0)
        throw new EgressError('timeout', 'The run has no time left for a request.');
      const address = await resolveChecked(target, this.#o.resolver, this.#o.policy);

      // Injection, after every check: only the lanes bound to this exact destination.
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
      // A random header value the host can only echo: proof that it reflects request headers.
      const probe = here.some((g) => (g.reflection ?? 'scan') !== 'scan')
        ? randomBytes(16).toString('hex')
        : undefined;
      if (probe !== undefined) headers['x-toolcage-reflection-probe'] = probe;
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
      const reflected = checkResponse({
        target,
        status: res.status,
        statusText: res.statusText,
        headers: pairs,
        body: text,
        secrets: this.#o.grants.map((g) => g.secret),
        probe,
        lanes: here,
      });
      this.#event({
        method,
        target,
        outcome: 'sent',
        status: res.status,
        ...(reflected ? { reason: 'the response echoed request headers; stripped' } : {}),
        injected,
        responseBytes: res.body.length,
        started,
      });
      if (reflected) return { ...stripped(res.status, pairs), url: target.url.href };
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

  /**
   * The grants to inject for this destination. A lane host matched on host
   * and port but over the other scheme refuses the request: its credential
   * must not travel in clear text (or to a TLS port that is not its own).
   */
  #lanesFor(target: Target): EgressGrant[] {
    const scheme = target.secure ? 'https' : 'http';
    const here: EgressGrant[] = [];
    for (const g of this.#o.grants) {
      const hosts = g.hosts.filter((h) => new Allowlist([h]).allows(target.host, target.port));
      if (hosts.length === 0) continue;
      if (hosts.some((h) => (h.scheme ?? 'https') === scheme)) {
        here.push(g);
        continue;
      }
      throw new EgressError(
        'not_allowed',
        `${target.host}:${target.port} is a host of the credential lane ${g.lane} over ${hosts[0]!.scheme ?? 'https'}; the request used ${scheme} and was not sent.`,
      );
    }
    return here;
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
