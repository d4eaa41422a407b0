import type { JSONWebKeySet, JWK } from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { ConditionEngine } from '../policy/conditions.ts';
import { policySetHash } from './policy-set.ts';
import { checkSession } from '../policy/session-id.ts';
import { pausedError, sessionKey, type SessionBreakerStore } from '../governors/breaker.ts';
import { argsHash as hashArgs, canonicalJson } from '../util/hash.ts';
import type { Registry } from '../registry/registry.ts';
import type { SigningKey } from '../claims/keys.ts';
import { consumeOutcome, type ApprovalRecord, type ApprovalStore } from './approval-store.ts';
import { ApprovalService } from './approval-service.ts';
import type { ApprovalView } from './approval-view.ts';
import type { Policy } from './policy.ts';
import type { Explanation } from './decision.ts';
import { decideCall } from './call-decision.ts';
import { signClaim, type IssuedClaim } from './sign-claim.ts';
import { explainApproval, explainCall, type ApprovalQuestion } from './explain.ts';

export type { DecisionRecord, Explanation } from './decision.ts';
export type { ApprovalQuestion } from './explain.ts';
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
  /** How the caller authenticated (`oidc`, `api_key:<id>`, `cli`, `mcp`), recorded on an approval request. */
  via?: string;
  /** The edge's request id, to correlate the approval request's audit line. */
  requestId?: string;
  /** RFC 7638 thumbprint of the caller's DPoP key: binds the claim to it (`cnf.jkt`). */
  dpopJkt?: string;
  /** The caller's session (an agent conversation or run): bound into the claim as `sid`. */
  session?: string | undefined;
  context?: DecisionContext;
}

export type { IssuedClaim } from './sign-claim.ts';

/** Mints claims by policy, and records human approvals. */
export class Broker {
  readonly #o: BrokerOptions & { now: () => number; audit: AuditSink; origin: Origin };
  readonly #policyHash: string;
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
    this.#o = { now: Date.now, audit: new NullAuditSink(), origin: 'http', ...options };
    this.#policyHash = policySetHash(options.policy, options.conditions);
    this.approvals = new ApprovalService({
      store: options.approvals,
      policy: options.policy,
      conditions: options.conditions,
      registry: options.registry,
      ...(options.approverRoles ? { approverRoles: options.approverRoles } : {}),
      ...(options.viewerRoles ? { viewerRoles: options.viewerRoles } : {}),
      audit: options.audit,
      origin: options.origin,
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

  /** The policy set hash every decision record names. */
  get policyHash(): string {
    return this.#policyHash;
  }

  /** The whole policy decision for one call (call-decision.ts); throws the refusal. */
  #decideCall(req: ClaimRequest, nowMs: number, trace: Partial<Explanation> = {}) {
    return decideCall(
      {
        policy: this.#o.policy,
        conditions: this.#o.conditions,
        policyHash: this.#policyHash,
        tool: (id) => this.#tool(id),
      },
      req,
      nowMs,
      trace,
    );
  }

  /** Explains the decision for a call without minting or consuming anything. */
  explain(req: ClaimRequest): Explanation {
    return explainCall(
      req,
      this.#policyHash,
      (trace) => this.#decideCall(req, this.#o.now(), trace).pol,
    );
  }

  /**
   * Explains whether `req.approver` may approve the request for this call,
   * without opening or deciding anything (explain.ts).
   */
  explainApproval(req: ApprovalQuestion): Explanation {
    return explainApproval(req, this.#policyHash, (trace) => {
      const tool = this.#tool(req.tool);
      checkSession(req.session);
      return this.approvals.explainApprove(
        { subject: req.approver, roles: req.approverRoles, tenants: ['*'], via: 'cli' },
        {
          tool: tool.manifest.id,
          tenant: req.tenant,
          sub: req.sub,
          argsJson: canonicalJson(req.args ?? null),
          session: req.session,
        },
        trace,
      ).pol;
    });
  }

  async issueClaim(req: ClaimRequest): Promise<IssuedClaim> {
    const argsHash = hashArgs(req.args);
    const base = {
      origin: this.#o.origin,
      ...correlation(req.context),
      ...((req.context?.via ?? req.via) ? { via: req.context?.via ?? req.via } : {}),
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
    let approvalId = req.approvalId;
    if (decision.approvalRequired && approvalId === undefined) {
      // No id from the caller: the request for this envelope (session included) is found, or
      // opened, by the envelope itself, so a plain retry of the same call in the same session,
      // on any replica, finds its approval.
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
          message: `Approval ${approvalId.slice(0, 128)} cannot be used for this call (${outcome}): it must be for exactly this tool, subject, tenant, arguments and session. Call again without an approval id: a request for exactly this call is then opened (or found) for a human to approve.`,
        });
    }
    const key = this.#o.keys[0]!;
    const claim = await signClaim({
      key,
      issuer: this.#o.issuer,
      audience: this.#o.audience,
      sub: req.sub,
      nowMs,
      ttlSeconds: decision.ttlSeconds,
      payload: {
        tool: tool.manifest.id,
        scope: decision.scope,
        args_hash: argsHash,
        tenant: req.tenant,
        ...(approvalId ? { approval_id: approvalId } : {}),
        ...(req.dpopJkt ? { cnf: { jkt: req.dpopJkt } } : {}),
        ...(req.session ? { sid: req.session } : {}),
        pol,
      },
    });
    return {
      claim,
      rule: decision.rule,
      scope: decision.scope,
      ttl: decision.ttlSeconds,
      kid: key.kid,
    };
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
    /** The session the call will be made in; the approval holds only there unless `anySession`. */
    session?: string | undefined;
    anySession?: boolean | undefined;
    context?: DecisionContext;
  }): Promise<ApprovalRecord> {
    return this.approvals.recordDirect({ ...input, via: 'direct' });
  }

  /** Resumes a paused session (a human's decision); `not_found` when it is not paused. */
  /**
   * Lifts a session's circuit-breaker pause: a human's decision, so it is a
   * record on the trail (who, where, which session), refused attempts too.
   */
  async resumeSession(
    tenant: string,
    session: string,
    by: { actor: string; origin?: Origin | 'console'; requestId?: string },
  ): Promise<void> {
    checkSession(session);
    const resumed =
      this.#o.sessions !== undefined &&
      (await this.#o.sessions.resume(sessionKey(tenant, session)));
    await recordDecision(this.#o.audit, {
      kind: 'session_resumed',
      origin: by.origin ?? this.#o.origin,
      session,
      tenant,
      actor: by.actor,
      outcome: resumed ? 'ok' : 'refused',
      ...(resumed ? {} : { errorCode: 'not_found' }),
      ...(by.requestId ? { requestId: by.requestId } : {}),
    });
    if (!resumed)
      throw new ToolcageError('not_found', {
        message: `Session ${session} is not paused in tenant ${tenant}.`,
      });
  }

  getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return this.approvals.get(id);
  }
}

function correlation(c: DecisionContext | undefined) {
  return {
    ...(c?.requestId ? { requestId: c.requestId } : {}),
    ...(c?.traceId ? { traceId: c.traceId } : {}),
  };
}
