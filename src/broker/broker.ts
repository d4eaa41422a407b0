import { randomUUID } from 'node:crypto';
import { SignJWT, type JSONWebKeySet, type JWK } from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { argsHash as hashArgs } from '../registry/hash.ts';
import type { Registry } from '../registry/registry.ts';
import type { SigningKey } from '../claims/keys.ts';
import { consumeOutcome, type ApprovalRecord, type ApprovalStore } from './approval-store.ts';
import { decide, type Policy } from './policy.ts';
import { NullAuditSink, recordDecision, type AuditSink, type Origin } from '../audit/audit.ts';
import { markAudited } from '../audit/context.ts';

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
  /** Every mint, refusal and approval is recorded here before it is reported (fail closed). */
  audit?: AuditSink;
  /** Where this broker's decisions come from, for the records (default `http`). */
  origin?: Origin;
  now?: () => number;
}

/** What joins a broker decision to the request and trace that asked for it. */
export interface DecisionContext {
  requestId?: string | undefined;
  traceId?: string | undefined;
  /** How the caller authenticated (`api_key:<id>`, `oidc`); the CLI says `cli`. */
  via?: string | undefined;
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
  /** RFC 7638 thumbprint of the caller's DPoP key: binds the claim to it (`cnf.jkt`). */
  dpopJkt?: string;
  context?: DecisionContext;
}

export interface IssuedClaim {
  claim: string;
  expiresAt: string;
  jti: string;
}

/** Mints claims by policy, and records human approvals. */
export class Broker {
  readonly #o: BrokerOptions & { now: () => number; audit: AuditSink; origin: Origin };

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
    this.#o = { now: Date.now, audit: new NullAuditSink(), origin: 'http', ...options };
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
    const argsHash = hashArgs(req.args);
    const base = {
      origin: this.#o.origin,
      ...correlation(req.context),
      ...(req.context?.via ? { via: req.context.via } : {}),
    };
    let issued: { claim: IssuedClaim; rule: string; scope: string[]; ttl: number; kid: string };
    try {
      issued = await this.#mint(req, argsHash);
    } catch (err) {
      const e = err as ToolcageError;
      await recordDecision(this.#o.audit, {
        kind: 'claim_refused',
        ...base,
        subject: req.sub,
        tenant: req.tenant,
        toolId: String(req.tool).slice(0, 200),
        argsHash,
        roles: [...req.roles],
        errorCode: e.code ?? 'internal',
        ...(e.details && typeof e.details.reason === 'string' ? { reason: e.details.reason } : {}),
        ...(req.approvalId ? { approvalId: String(req.approvalId).slice(0, 128) } : {}),
      });
      throw markAudited(err);
    }
    await recordDecision(this.#o.audit, {
      kind: 'claim_minted',
      ...base,
      jti: issued.claim.jti,
      subject: req.sub,
      tenant: req.tenant,
      toolId: req.tool,
      argsHash,
      scope: issued.scope,
      ttlSeconds: issued.ttl,
      expiresAt: issued.claim.expiresAt,
      rule: issued.rule,
      roles: [...req.roles],
      kid: issued.kid,
      bound: req.dpopJkt !== undefined,
      ...(req.approvalId ? { approvalId: req.approvalId } : {}),
    });
    return issued.claim;
  }

  async #mint(
    req: ClaimRequest,
    argsHash: string,
  ): Promise<{ claim: IssuedClaim; rule: string; scope: string[]; ttl: number; kid: string }> {
    const tool = this.#tool(req.tool);
    const decision = decide(this.#o.policy, tool.manifest, req.roles, {
      ...(req.ttlSeconds !== undefined ? { ttlSeconds: req.ttlSeconds } : {}),
      ...(req.scope ? { scope: req.scope } : {}),
    });
    const nowMs = this.#o.now();
    if (decision.approvalRequired || req.approvalId !== undefined) {
      if (!req.approvalId) {
        throw new ToolcageError('approval_required', {
          message: `${tool.manifest.id} is ${tool.manifest.risk}-risk: a human must approve this exact call first (\`toolcage broker approve --tool ${tool.manifest.id} --args FILE --sub ${req.sub}\`), then pass --approval ID.`,
        });
      }
      const outcome = consumeOutcome(
        await this.#o.approvals.get(req.approvalId),
        { tool: tool.manifest.id, sub: req.sub, tenant: req.tenant, argsHash },
        nowMs,
      );
      if (outcome !== 'ok')
        throw new ToolcageError('approval_required', {
          details: { reason: `approval_${outcome}` },
          message: `Approval ${req.approvalId} cannot be used for this call (${outcome}). Ask for an approval of exactly this tool, subject, tenant and arguments.`,
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
      ...(req.approvalId ? { approval_id: req.approvalId } : {}),
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
    return {
      claim: { claim, expiresAt: new Date((iat + decision.ttlSeconds) * 1000).toISOString(), jti },
      rule: decision.rule,
      scope: decision.scope,
      ttl: decision.ttlSeconds,
      kid: key.kid,
    };
  }

  /**
   * Records an approval for one envelope. `status: 'approved'` when a human
   * approves directly (the CLI); `'pending'` for a request awaiting a human.
   */
  async recordApproval(input: {
    tool: string;
    args: unknown;
    sub: string;
    tenant: string;
    status: 'approved' | 'pending';
    decidedBy?: string;
    context?: DecisionContext;
  }): Promise<ApprovalRecord> {
    const tool = this.#tool(input.tool);
    const nowMs = this.#o.now();
    const record: ApprovalRecord = {
      id: `apr_${randomUUID()}`,
      tool: tool.manifest.id,
      sub: input.sub,
      tenant: input.tenant,
      argsHash: hashArgs(input.args),
      status: input.status,
      createdAtMs: nowMs,
      expiresAtMs: nowMs + this.#o.policy.approvalTtlSeconds * 1000,
      ...(input.decidedBy ? { decidedBy: input.decidedBy } : {}),
    };
    const ctx = correlation(input.context);
    const common = {
      origin: this.#o.origin,
      ...ctx,
      approvalId: record.id,
      subject: record.sub,
      tenant: record.tenant,
      toolId: record.tool,
      argsHash: record.argsHash,
      expiresAt: new Date(record.expiresAtMs).toISOString(),
    };
    // Recorded before the approval exists: an approval nobody can find on the trail is never usable.
    await recordDecision(
      this.#o.audit,
      record.status === 'pending'
        ? { kind: 'approval_requested', ...common }
        : {
            kind: 'approval_decided',
            ...common,
            decision: 'approved',
            approver: record.decidedBy ?? 'unknown',
          },
    );
    await this.#o.approvals.create(record);
    return record;
  }

  async decideApproval(
    id: string,
    decision: 'approved' | 'denied',
    decidedBy: string,
    context?: DecisionContext,
  ): Promise<ApprovalRecord> {
    const before = await this.#o.approvals.get(id);
    const common = {
      kind: 'approval_decided' as const,
      origin: this.#o.origin,
      ...correlation(context),
      approvalId: id.slice(0, 128),
      decision,
      approver: decidedBy,
      ...(before
        ? {
            subject: before.sub,
            tenant: before.tenant,
            toolId: before.tool,
            argsHash: before.argsHash,
            expiresAt: new Date(before.expiresAtMs).toISOString(),
          }
        : {}),
    };
    const notFound = () =>
      markAudited(
        new ToolcageError('not_found', {
          message: `Approval ${id.slice(0, 100)} is unknown, expired or already decided.`,
        }),
      );
    if (before?.status !== 'pending') {
      await recordDecision(this.#o.audit, { ...common, errorCode: 'not_found' });
      throw notFound();
    }
    // The decision is on the trail before it takes effect; one that loses a race is recorded as refused.
    await recordDecision(this.#o.audit, common);
    if (!(await this.#o.approvals.decide(id, decision, decidedBy, this.#o.now()))) {
      await recordDecision(this.#o.audit, { ...common, errorCode: 'not_found' }).catch(() => {});
      throw notFound();
    }
    return (await this.#o.approvals.get(id))!;
  }

  getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return this.#o.approvals.get(id);
  }
}

function correlation(c: DecisionContext | undefined) {
  return {
    ...(c?.requestId ? { requestId: c.requestId } : {}),
    ...(c?.traceId ? { traceId: c.traceId } : {}),
  };
}
