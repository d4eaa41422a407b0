import type { Broker } from '../broker/broker.ts';

/** Who is calling, as authenticated by the MCP transport (never the client's token itself). */
export interface Principal {
  sub: string;
  tenant: string;
  /** Roles the broker policy maps to tools (from the identity token, or the policy's `principals`). */
  roles: readonly string[];
  /** How the principal authenticated (`oidc`, `stdio`), recorded on approval requests. */
  via?: string;
  /**
   * The roles are the broker's to give (its policy's `principals`), not this
   * server's to assert: stdio's local user with a remote broker. `roles` is then empty.
   */
  rolesFromBroker?: boolean;
}

export interface ClaimRequest {
  toolId: string;
  args: unknown;
  principal: Principal;
  /** An approval id the caller presents explicitly (MCP `_meta["toolcage/approvalId"]`). */
  approvalId?: string;
  /** The MCP session id, when the transport has one: the claim's `sid` and the approval request's session. */
  session?: string;
}

/** Mints the claim for exactly one call; refusals reject with a ToolcageError (policy_denied, approval_required, ...). */
export interface ClaimProvider {
  claimFor(request: ClaimRequest): Promise<string>;
}

export interface BrokerClaimProviderOptions {
  broker: Pick<Broker, 'issueClaim'>;
}

/**
 * The in-process broker as a ClaimProvider. The approval flow needs nothing
 * from the model and nothing kept here: the broker finds the approval request
 * of a call by its envelope (tool, subject, tenant, args hash, session) in the shared
 * store, so a plain retry of the same call finds it after a restart, on
 * another replica, or from a fresh `toolcage mcp` process:
 *
 * 1. A call the policy says needs approval opens a *pending* request (or finds
 *    the one already open) and is refused with `approval_required`, naming it
 *    (details: approvalId, status, consoleUrl).
 * 2. Once a human approved it, the same call gets a claim carrying its id and
 *    the runner consumes it, once; denied → refused with the reason; used or
 *    expired → a new request.
 *
 * An explicit id in `_meta["toolcage/approvalId"]` is used as is. The broker
 * and the runner check the envelope, so an approval never covers other arguments.
 */
export class BrokerClaimProvider implements ClaimProvider {
  readonly #broker: BrokerClaimProviderOptions['broker'];

  constructor(options: BrokerClaimProviderOptions) {
    if (typeof options?.broker?.issueClaim !== 'function')
      throw new TypeError(`Expected options.broker to be a Broker, got ${typeof options?.broker}`);
    this.#broker = options.broker;
  }

  async claimFor(request: ClaimRequest): Promise<string> {
    const { toolId, args, principal } = request;
    const issued = await this.#broker.issueClaim({
      tool: toolId,
      args,
      sub: principal.sub,
      roles: principal.roles,
      tenant: principal.tenant,
      via: `mcp:${principal.via ?? 'unknown'}`,
      ...(request.session ? { session: request.session } : {}),
      ...(request.approvalId !== undefined ? { approvalId: request.approvalId } : {}),
    });
    return issued.claim;
  }
}
