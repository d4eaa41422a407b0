import { randomUUID } from 'node:crypto';
import { SignJWT, type JSONWebKeySet, type JWK } from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { argsHash as hashArgs } from '../registry/hash.ts';
import type { Registry } from '../registry/registry.ts';
import type { SigningKey } from '../claims/keys.ts';
import type { AuditSink } from '../audit/audit.ts';
import { consumeOutcome, type ApprovalRecord, type ApprovalStore } from './approval-store.ts';
import { ApprovalService } from './approval-service.ts';
import type { ApprovalView } from './approval-view.ts';
import { decide, type Policy } from './policy.ts';

export interface BrokerOptions {
  issuer: string;
  /** The runner audience claims are minted for. */
  audience: string;
  /** Signing keys; the first signs, all are published (rotation: old keys stay until their last claim expires). */
  keys: SigningKey[];
  /** Public JWKs to publish (same order as `keys`). */
  publicJwks: JWK[];
  policy: Policy;
  registry: () => Registry;
  approvals: ApprovalStore;
  /** `broker.approverRoles`: approvers of every tool and tenant (besides the policy's `approvers`). */
  approverRoles?: readonly string[];
  /** Roles that may see their tenants' approval requests (never decide). */
  viewerRoles?: readonly string[];
  /** Where approval requests and decisions are audited. */
  audit?: AuditSink;
  /** The console link of an approval request, shown to the agent. */
  consoleUrl?: (approvalId: string) => string;
  /** Called for each new pending request (the webhook), with sensitive arguments masked. */
  onPendingApproval?: (view: ApprovalView) => void;
  now?: () => number;
}

export interface ClaimRequest {
  tool: string;
  args: unknown;
  /** The authenticated principal. */
  sub: string;
  /** The principal's roles (from the identity token, the API key record, or the policy's principals). */
  roles: readonly string[];
  tenant: string;
  scope?: string[];
  ttlSeconds?: number;
  approvalId?: string;
  /** How the caller authenticated (`oidc`, `api_key:<id>`, `cli`, `mcp`), recorded on an approval request. */
  via?: string;
  /** The caller's session (MCP), recorded on an approval request. */
  session?: string;
  /** The edge's request id, to correlate the approval request's audit line. */
  requestId?: string;
  /** RFC 7638 thumbprint of the caller's DPoP key: binds the claim to it (`cnf.jkt`). */
  dpopJkt?: string;
}

export interface IssuedClaim {
  claim: string;
  expiresAt: string;
  jti: string;
}

/** Mints claims by policy, and records human approvals. */
export class Broker {
  readonly #o: BrokerOptions & { now: () => number };
  /** Approval requests and decisions, under one set of rules for every path. */
  readonly approvals: ApprovalService;

  constructor(options: BrokerOptions) {
    if (!options?.keys?.length)
      throw new TypeError('Expected options.keys to hold at least one signing key');
    if (typeof options.issuer !== 'string' || !options.issuer)
      throw new TypeError(
        `Expected options.issuer to be a non-empty string, got ${String(options.issuer)}`,
      );
    if (typeof options.audience !== 'string' || !options.audience)
      throw new TypeError(
        `Expected options.audience to be a non-empty string, got ${String(options.audience)}`,
      );
    this.#o = { now: Date.now, ...options };
    this.approvals = new ApprovalService({
      store: options.approvals,
      policy: options.policy,
      registry: options.registry,
      ...(options.approverRoles ? { approverRoles: options.approverRoles } : {}),
      ...(options.viewerRoles ? { viewerRoles: options.viewerRoles } : {}),
      audit: options.audit,
      consoleUrl: options.consoleUrl,
      onPending: options.onPendingApproval,
      now: this.#o.now,
    });
  }

  jwks(): JSONWebKeySet {
    return { keys: this.#o.publicJwks.map((k) => ({ ...k })) };
  }

  #tool(id: string) {
    const tool = this.#o.registry().get(id);
    if (!tool)
      throw new ToolcageError('tool_not_allowed', {
        message: `Tool "${String(id).slice(0, 200)}" is not in the registry allowlist; no claim can be minted for it.`,
      });
    return tool;
  }

  async issueClaim(req: ClaimRequest): Promise<IssuedClaim> {
    const tool = this.#tool(req.tool);
    const decision = decide(this.#o.policy, tool.manifest, req.roles, {
      ...(req.ttlSeconds !== undefined ? { ttlSeconds: req.ttlSeconds } : {}),
      ...(req.scope ? { scope: req.scope } : {}),
    });
    const argsHash = hashArgs(req.args);
    const nowMs = this.#o.now();
    let approvalId = req.approvalId;
    if (decision.approvalRequired && approvalId === undefined) {
      // No id from the caller: the request for this envelope is found (or opened) by the
      // envelope itself, so a plain retry of the same call, on any replica, finds its approval.
      const { record } = await this.approvals.open({
        tool: tool.manifest.id,
        args: req.args,
        sub: req.sub,
        tenant: req.tenant,
        via: req.via ?? 'unknown',
        session: req.session,
        requestId: req.requestId,
      });
      if (record.status !== 'approved') throw this.approvals.refusal(record);
      approvalId = record.id;
    } else if (approvalId !== undefined) {
      const outcome = consumeOutcome(
        await this.#o.approvals.get(approvalId, nowMs),
        { tool: tool.manifest.id, sub: req.sub, tenant: req.tenant, argsHash },
        nowMs,
      );
      if (outcome !== 'ok')
        throw new ToolcageError('approval_required', {
          message: `Approval ${approvalId.slice(0, 128)} cannot be used for this call (${outcome}). Call again without an approval id: a request for exactly this call is then opened (or found) for a human to approve.`,
        });
    }
    const iat = Math.floor(nowMs / 1000);
    const jti = randomUUID();
    const key = this.#o.keys[0]!;
    const payload: Record<string, unknown> = {
      tool: tool.manifest.id,
      scope: decision.scope,
      args_hash: argsHash,
      tenant: req.tenant,
      ...(approvalId ? { approval_id: approvalId } : {}),
      ...(req.dpopJkt ? { cnf: { jkt: req.dpopJkt } } : {}),
    };
    const claim = await new SignJWT(payload)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.#o.issuer)
      .setSubject(req.sub)
      .setAudience(this.#o.audience)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + decision.ttlSeconds)
      .setJti(jti)
      .sign(key.key);
    return { claim, expiresAt: new Date((iat + decision.ttlSeconds) * 1000).toISOString(), jti };
  }

  /**
   * Stores an approval record directly, without the decision rules (no
   * approver role, no self-approval check). For tests and the demo only; every
   * human path decides through `approvals.decide`.
   */
  recordApproval(input: {
    tool: string;
    args: unknown;
    sub: string;
    tenant: string;
    status: 'approved' | 'pending';
    decidedBy?: string;
  }): Promise<ApprovalRecord> {
    return this.approvals.recordDirect({ ...input, via: 'direct' });
  }

  getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return this.approvals.get(id);
  }
}
