import type { JWK } from 'jose';
import { createDpopProof } from '../claims/dpop.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { BrokerCredential } from './broker-credentials.ts';
import type { ClaimProvider, ClaimRequest } from './claim-provider.ts';
import { errorFromResponse } from './contract-errors.ts';

export interface RemoteBrokerClaimProviderOptions {
  /** The broker service's base URL (`toolcage broker serve`), e.g. `https://broker.internal:8081`. */
  url: string;
  /** This MCP server's own identity at the broker. */
  credential: BrokerCredential;
  /**
   * A private ES256/EdDSA JWK: each claim request carries a DPoP proof (RFC 9449)
   * and the broker binds the claim to the key (`cnf.jkt`), so the runner then
   * wants a proof from the same key (HttpRunnerClient's `dpopKey`).
   */
  dpopKey?: JWK | undefined;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Claims from a broker service over its HTTP API (`POST /v1/claims`), so the
 * MCP server holds no broker signing key. It authenticates as itself and asks
 * on behalf of the MCP caller (`onBehalfOf`: the caller's subject and the
 * roles its identity token gave it); the broker's policy decides whether this
 * server may mint for that subject at all (`delegates`, docs/mcp-remote-broker.md)
 * and then decides the call as if the subject had asked. The approval flow is
 * the broker's, unchanged: `approval_required` comes back with the request id
 * and console link the broker made, and a retry finds the approved request by
 * its envelope.
 */
export class RemoteBrokerClaimProvider implements ClaimProvider {
  readonly #claimsUrl: URL;
  readonly #o: RemoteBrokerClaimProviderOptions & { fetch: typeof fetch; timeoutMs: number };

  constructor(options: RemoteBrokerClaimProviderOptions) {
    let base: URL;
    try {
      base = new URL(options?.url);
    } catch {
      throw new TypeError(
        `Expected options.url to be an absolute URL, got ${String(options?.url)}`,
      );
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new TypeError(`Expected options.url to be http(s), got ${base.protocol}`);
    if (typeof options.credential?.headers !== 'function')
      throw new TypeError('Expected options.credential to be a BrokerCredential');
    this.#claimsUrl = new URL(
      'v1/claims',
      base.pathname.endsWith('/') ? base.href : `${base.href}/`,
    );
    this.#o = { fetch, timeoutMs: 10_000, ...options };
  }

  async claimFor(request: ClaimRequest): Promise<string> {
    const { principal } = request;
    const body = {
      tool: request.toolId,
      args: request.args,
      tenant: principal.tenant,
      onBehalfOf: {
        subject: principal.sub,
        // Stdio's local user has no token: the broker's policy (`principals`) gives its roles.
        ...(principal.rolesFromBroker ? {} : { roles: [...principal.roles] }),
      },
      ...(request.approvalId !== undefined ? { approvalId: request.approvalId } : {}),
    };
    let res = await this.#post(request, body);
    // A cached token the broker no longer accepts (expired early, keys rotated): one fresh try.
    if (res.status === 401 && this.#o.credential.invalidate()) {
      await res.body?.cancel();
      res = await this.#post(request, body);
    }
    if (!res.ok) throw this.#refusal(await errorFromResponse(res, 'broker_unavailable'));
    const issued = (await res.json().catch(() => undefined)) as { claim?: unknown } | undefined;
    if (typeof issued?.claim !== 'string')
      throw new ToolcageError('broker_unavailable', {
        message: `The broker at ${this.#claimsUrl.origin} answered without a claim; nothing ran. Ask the operator.`,
      });
    return issued.claim;
  }

  async #post(request: ClaimRequest, body: unknown): Promise<Response> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      ...(await this.#o.credential.headers()),
      ...(request.session ? { 'toolcage-session': request.session } : {}),
    };
    // A fresh proof per request (RFC 9449 §4.2: each proof's jti is used once).
    if (this.#o.dpopKey)
      headers.dpop = await createDpopProof({
        privateJwk: this.#o.dpopKey,
        htm: 'POST',
        htu: this.#claimsUrl.href,
      });
    try {
      return await this.#o.fetch(this.#claimsUrl, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
    } catch (cause) {
      throw new ToolcageError('broker_unavailable', {
        message: `The broker at ${this.#claimsUrl.origin} is not reachable; nothing ran. Retry later or ask the operator.`,
        cause,
      });
    }
  }

  /**
   * The broker refusing this server's own credential or proof is the
   * operator's to fix, not the MCP caller's: it is reported as such, never as
   * the caller being unauthenticated.
   */
  #refusal(e: ToolcageError): ToolcageError {
    if (e.code !== 'unauthenticated' && e.code !== 'dpop_invalid') return e;
    return new ToolcageError('broker_unavailable', {
      message: `The broker at ${this.#claimsUrl.origin} refused this MCP server's own credential (${e.code}: ${e.message}). The operator must fix mcp.broker in the config; nothing ran.`,
      cause: e,
    });
  }
}
