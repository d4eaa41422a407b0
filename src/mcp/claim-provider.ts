import { ToolcageError } from '../errors/toolcage-error.ts';
import { argsHash } from '../util/hash.ts';
import type { Broker } from '../broker/broker.ts';

/** Who is calling, as authenticated by the MCP transport (never the client's token itself). */
export interface Principal {
  sub: string;
  tenant: string;
  /** Roles the broker policy maps to tools (from the identity token, or the policy's `principals`). */
  roles: readonly string[];
}

export interface ClaimRequest {
  toolId: string;
  args: unknown;
  principal: Principal;
  /** An approval id the caller presents explicitly (MCP `_meta["toolcage/approvalId"]`). */
  approvalId?: string;
  /** The MCP session id, when the transport has one: the claim's `sid`. */
  session?: string;
}

/** Mints the claim for exactly one call; refusals reject with a ToolcageError (policy_denied, approval_required, ...). */
export interface ClaimProvider {
  claimFor(request: ClaimRequest): Promise<string>;
}

export interface BrokerClaimProviderOptions {
  broker: Pick<Broker, 'issueClaim' | 'recordApproval' | 'getApproval'>;
  /** How a human approves a pending request, shown to the model: default `toolcage mcp approve ID`. */
  approveCommand?: (approvalId: string) => string;
  /** Remembered pending approvals (bounded; oldest forgotten first). Default 1000. */
  maxPending?: number;
}

/**
 * The in-process broker as a ClaimProvider, with the approval flow for
 * high-risk tools that needs no extra argument from the model:
 *
 * 1. A call the policy says needs approval, and carrying none, records a
 *    *pending* approval for exactly this envelope (tool, subject, tenant,
 *    args hash) and is refused with `approval_required`, naming its id and
 *    the command a human runs to approve it.
 * 2. The same call again (same principal, same arguments) finds that id: still
 *    pending → refused again with the same id; approved → the claim carries it
 *    and the runner consumes it, once; denied, expired or used → a new request.
 *
 * An explicit id in `_meta["toolcage/approvalId"]` (e.g. from
 * `toolcage broker approve`) is used as is. The broker and the runner check the
 * envelope, so an approval can never be spent on other arguments.
 */
export class BrokerClaimProvider implements ClaimProvider {
  readonly #broker: BrokerClaimProviderOptions['broker'];
  readonly #approveCommand: (id: string) => string;
  readonly #maxPending: number;
  /** envelope key → pending approval id. Keys are built by us, values are ids we created. */
  readonly #pending = new Map<string, string>();

  constructor(options: BrokerClaimProviderOptions) {
    if (typeof options?.broker?.issueClaim !== 'function')
      throw new TypeError(`Expected options.broker to be a Broker, got ${typeof options?.broker}`);
    this.#broker = options.broker;
    this.#approveCommand = options.approveCommand ?? ((id) => `toolcage mcp approve ${id}`);
    this.#maxPending = options.maxPending ?? 1000;
  }

  async claimFor(request: ClaimRequest): Promise<string> {
    const { toolId, args, principal } = request;
    const base = {
      tool: toolId,
      args,
      sub: principal.sub,
      roles: principal.roles,
      tenant: principal.tenant,
      ...(request.session ? { session: request.session } : {}),
    };
    if (request.approvalId !== undefined)
      return (await this.#broker.issueClaim({ ...base, approvalId: request.approvalId })).claim;
    const key = JSON.stringify([
      principal.sub,
      principal.tenant,
      request.session ?? null,
      toolId,
      argsHash(args ?? null),
    ]);
    const remembered = this.#pending.get(key);
    if (remembered !== undefined) {
      const record = await this.#broker.getApproval(remembered);
      if (record?.status === 'approved' && record.expiresAtMs > Date.now()) {
        this.#pending.delete(key);
        return (await this.#broker.issueClaim({ ...base, approvalId: remembered })).claim;
      }
      if (record?.status === 'pending' && record.expiresAtMs > Date.now())
        throw this.#refusal(toolId, remembered, 'is still pending');
      this.#pending.delete(key);
    }
    try {
      return (await this.#broker.issueClaim(base)).claim;
    } catch (err) {
      if (!(err instanceof ToolcageError) || err.code !== 'approval_required') throw err;
      const record = await this.#broker.recordApproval({
        tool: toolId,
        args,
        sub: principal.sub,
        tenant: principal.tenant,
        status: 'pending',
        ...(request.session ? { session: request.session } : {}),
      });
      this.#remember(key, record.id);
      throw this.#refusal(toolId, record.id, 'was created', record.expiresAtMs);
    }
  }

  #remember(key: string, id: string): void {
    this.#pending.delete(key);
    this.#pending.set(key, id);
    while (this.#pending.size > this.#maxPending)
      this.#pending.delete(this.#pending.keys().next().value!);
  }

  #refusal(toolId: string, approvalId: string, state: string, expiresAtMs?: number): ToolcageError {
    const command = this.#approveCommand(approvalId);
    return new ToolcageError('approval_required', {
      message: `${toolId} needs a human's approval of exactly this call. Approval request ${approvalId} ${state}: ask a human to run \`${command}\`, then call the tool again with the same arguments.`,
      details: {
        approvalId,
        status: 'pending',
        approveCommand: command,
        ...(expiresAtMs ? { expiresAt: new Date(expiresAtMs).toISOString() } : {}),
      },
    });
  }
}
