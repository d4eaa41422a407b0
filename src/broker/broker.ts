import { randomUUID } from 'node:crypto';
import { SignJWT, type JSONWebKeySet, type JWK } from 'jose';
import { ToolcageError, toToolcageError } from '../errors/toolcage-error.ts';
import type { ConditionEngine } from '../policy/conditions.ts';
import { policySetHash } from './policy-set.ts';
import { checkSession } from '../policy/session-id.ts';
import { pausedError, sessionKey, type SessionBreakerStore } from '../governors/breaker.ts';
import { argsHash as hashArgs } from '../util/hash.ts';
import type { Registry } from '../registry/registry.ts';
import type { SigningKey } from '../claims/keys.ts';
import { consumeOutcome, type ApprovalRecord, type ApprovalStore } from './approval-store.ts';
import { decide, type Policy } from './policy.ts';
import { renderFor, validateFor } from './render.ts';
import { conditionRefusal, type DecisionRecord, type Explanation } from './decision.ts';

export type { DecisionRecord, Explanation } from './decision.ts';
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
  /** Session breaker state: a paused session gets no claims (`session_paused`). */
  sessions?: SessionBreakerStore | undefined;
  /** Cedar conditions beside the roles (src/policy/); none: roles alone decide. */
  conditions?: ConditionEngine | undefined;
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
  /** The caller's session (an agent conversation or run): bound into the claim as `sid`. */
  session?: string | undefined;
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
  readonly #policyHash: string;

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
    this.#policyHash = policySetHash(options.policy, options.conditions);
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

  /** The policy set hash every decision record names. */
  get policyHash(): string {
    return this.#policyHash;
  }

  /**
   * The whole policy decision for one call, without approvals or minting:
   * roles and scopes (YAML), rendered scopes, then Cedar conditions. Throws
   * the refusal; `trace` collects what was decided on the way.
   */
  #decideCall(req: ClaimRequest, nowMs: number, trace: Partial<Explanation> = {}) {
    const tool = this.#tool(req.tool);
    checkSession(req.session);
    const rendered = renderFor(tool, req.args);
    trace.renderedScope = rendered;
    const decision = decide(this.#o.policy, tool.manifest, req.roles, {
      ...(req.ttlSeconds !== undefined ? { ttlSeconds: req.ttlSeconds } : {}),
      ...(req.scope ? { scope: req.scope } : {}),
      rendered,
    });
    Object.assign(trace, {
      scope: decision.scope,
      ttlSeconds: decision.ttlSeconds,
      approvalRequired: decision.approvalRequired,
      roles: decision.roles,
    });
    const ids = decision.roles.map((r) => `role:${r}`);
    const c = this.#o.conditions;
    if (c) {
      if (rendered.length === 0) validateFor(tool, req.args);
      const verdict = c.evaluate({
        manifest: tool.manifest,
        sub: req.sub,
        roles: req.roles,
        tenant: req.tenant,
        args: req.args,
        rendered,
        session: req.session,
        nowMs,
      });
      trace.cedar = {
        decision: verdict.allowed ? 'allow' : 'deny',
        policies: verdict.policyIds,
        errors: verdict.errors,
      };
      trace.pol = { h: this.#policyHash, ids: [...ids, ...verdict.policyIds] };
      if (!verdict.allowed) throw conditionRefusal(tool.manifest.id, verdict);
      ids.push(...verdict.policyIds);
    }
    return { tool, decision, pol: { h: this.#policyHash, ids } satisfies DecisionRecord };
  }

  /** Explains the decision for a call without minting or consuming anything. */
  explain(req: ClaimRequest): Explanation {
    const trace: Partial<Explanation> = {};
    try {
      const { pol } = this.#decideCall(req, this.#o.now(), trace);
      return { ...trace, allowed: true, tool: req.tool, pol };
    } catch (err) {
      const e = toToolcageError(err);
      return {
        ...trace,
        allowed: false,
        tool: req.tool,
        error: { code: e.code, message: e.message },
        pol: trace.pol ?? { h: this.#policyHash, ids: [] },
      };
    }
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
    const nowMs = this.#o.now();
    const { tool, decision, pol } = this.#decideCall(req, nowMs);
    if (req.session && this.#o.sessions) {
      const paused = await this.#o.sessions.paused(sessionKey(req.tenant, req.session));
      if (paused) throw pausedError(req.session, paused);
    }
    if (decision.approvalRequired || req.approvalId !== undefined) {
      if (!req.approvalId) {
        throw new ToolcageError('approval_required', {
          message: `${tool.manifest.id} is ${tool.manifest.risk}-risk: a human must approve this exact call first (\`toolcage broker approve --tool ${tool.manifest.id} --args FILE --sub ${req.sub}\`), then pass --approval ID.`,
        });
      }
      const outcome = consumeOutcome(
        await this.#o.approvals.get(req.approvalId),
        {
          tool: tool.manifest.id,
          sub: req.sub,
          tenant: req.tenant,
          argsHash,
          session: req.session,
        },
        nowMs,
      );
      if (outcome !== 'ok')
        throw new ToolcageError('approval_required', {
          details: { reason: `approval_${outcome}` },
          message: `Approval ${req.approvalId} cannot be used for this call (${outcome}). Ask for an approval of exactly this tool, subject, tenant, arguments and session.`,
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
      ...(req.session ? { sid: req.session } : {}),
      pol,
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
    /** The session the call will be made in; the approval holds only there unless `anySession`. */
    session?: string | undefined;
    anySession?: boolean | undefined;
    context?: DecisionContext;
  }): Promise<ApprovalRecord> {
    const tool = this.#tool(input.tool);
    checkSession(input.session);
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
      ...(input.session ? { session: input.session } : {}),
      ...(input.anySession ? { anySession: true } : {}),
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

  /** Resumes a paused session (a human's decision); `not_found` when it is not paused. */
  async resumeSession(tenant: string, session: string): Promise<void> {
    checkSession(session);
    if (!this.#o.sessions || !(await this.#o.sessions.resume(sessionKey(tenant, session))))
      throw new ToolcageError('not_found', {
        message: `Session ${session} is not paused in tenant ${tenant}.`,
      });
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
