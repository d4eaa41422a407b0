import { randomUUID } from 'node:crypto';
import type { AuditSink } from '../audit/audit.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { checkSession } from '../policy/session-id.ts';
import { argsHash as hashArgs, canonicalJson } from '../util/hash.ts';
import type { Registry } from '../registry/registry.ts';
import { auditApproval, auditRefusedDecision } from './approval-audit.ts';
import { decideApprove } from './approval-decision.ts';
import {
  isAnyApprover,
  isApproverFor,
  mayView,
  type Actor,
  type ApprovalRules,
} from './approval-rules.ts';
import type {
  ApprovalFilter,
  ApprovalRecord,
  ApprovalStore,
  OpenedApproval,
} from './approval-store.ts';
import { approvalView, type ApprovalView } from './approval-view.ts';
import type { Policy } from './policy.ts';
import type { ConditionEngine } from '../policy/conditions.ts';
import { policySetHash } from './policy-set.ts';
import type { DecisionRecord } from './decision.ts';

export interface ApprovalServiceOptions {
  store: ApprovalStore;
  policy: Policy;
  /** Cedar conditions: when set, approving also needs Cedar's `approve` action to allow. */
  conditions?: ConditionEngine | undefined;
  registry: () => Registry;
  /** `broker.approverRoles`: approvers of every tool and tenant (besides the policy's `approvers`). */
  approverRoles?: readonly string[];
  /** `broker.console.viewerRoles`: may see their tenants' requests, never decide. */
  viewerRoles?: readonly string[];
  audit?: AuditSink | undefined;
  /** Where this service's decisions come from, for the audit records (default `http`). */
  origin?: 'http' | 'cli' | undefined;
  /** The console link of a request (`<publicUrl>/console/approvals/<id>`), when a console is served. */
  consoleUrl?: ((id: string) => string) | undefined;
  /** Called once for each new pending request, with the masked view (the webhook). */
  onPending?: ((view: ApprovalView) => void) | undefined;
  now?: () => number;
}

export interface OpenRequest {
  tool: string;
  args: unknown;
  sub: string;
  tenant: string;
  via: string;
  /** The session the call is made in: the request (and its approval) holds only there. */
  session?: string | undefined;
  /** Only for `recordDirect`: the approval holds in any session. */
  anySession?: boolean | undefined;
  requestId?: string | undefined;
}

export interface DecideRequest {
  actor: Actor;
  id: string;
  decision: 'approved' | 'denied';
  reason?: string | undefined;
  /** An approval that may be used in any session, not only the request's own. */
  anySession?: boolean | undefined;
  requestId?: string | undefined;
}

const MAX_REASON = 1000;

/**
 * Approval requests and decisions under one set of rules, whatever the path
 * (HTTP, CLI, MCP, console): a request per envelope, reused while live; an
 * approver role for the tool and tenant; no self-approval unless the policy
 * says so; a reason on every denial; an audit line for each request and decision.
 */
export class ApprovalService {
  readonly rules: ApprovalRules;
  readonly #o: ApprovalServiceOptions & { now: () => number };
  readonly #policyHash: string;

  constructor(options: ApprovalServiceOptions) {
    this.#o = { now: Date.now, ...options };
    this.#policyHash = policySetHash(options.policy, options.conditions);
    this.rules = {
      policy: options.policy,
      approverRoles: options.approverRoles ?? ['approver'],
      viewerRoles: options.viewerRoles ?? ['viewer'],
    };
  }

  #manifest(tool: string) {
    return this.#o.registry().get(tool)?.manifest;
  }

  view(record: ApprovalRecord): ApprovalView {
    return approvalView(record, {
      manifest: this.#manifest(record.tool),
      consoleUrl: this.#o.consoleUrl?.(record.id),
    });
  }

  #newRecord(input: OpenRequest, status: ApprovalRecord['status']): ApprovalRecord {
    const tool = this.#o.registry().get(input.tool);
    if (!tool)
      throw new ToolcageError('tool_not_allowed', {
        message: `Tool "${String(input.tool).slice(0, 200)}" is not in the registry allowlist.`,
      });
    checkSession(input.session);
    const nowMs = this.#o.now();
    return {
      id: `apr_${randomUUID()}`,
      tool: tool.manifest.id,
      toolVersion: tool.manifest.version,
      manifestSha256: tool.manifestSha256,
      risk: tool.manifest.risk,
      sub: input.sub,
      tenant: input.tenant,
      ...(input.session ? { session: input.session } : {}),
      ...(input.anySession ? { anySession: true } : {}),
      argsJson: canonicalJson(input.args ?? null),
      argsHash: hashArgs(input.args ?? null),
      requestedVia: input.via,
      status,
      createdAtMs: nowMs,
      expiresAtMs: nowMs + this.#o.policy.approvalTtlSeconds * 1000,
    };
  }

  /** The live request for this envelope, or a new pending one (audited, announced). */
  async open(input: OpenRequest): Promise<OpenedApproval> {
    const opened = await this.#o.store.open(this.#newRecord(input, 'pending'), this.#o.now());
    if (opened.created) {
      await auditApproval(this.#o.audit, {
        event: 'requested',
        record: opened.record,
        actor: input.sub,
        requestId: input.requestId,
        via: input.via,
        origin: this.#o.origin,
      });
      this.#o.onPending?.(this.view(opened.record));
    }
    return opened;
  }

  /** Stores an already-approved record without the decision rules: for tests and the demo only. */
  async recordDirect(
    input: OpenRequest & { status: 'approved' | 'pending'; decidedBy?: string },
  ): Promise<ApprovalRecord> {
    const record = this.#newRecord(input, input.status);
    if (input.decidedBy) {
      record.decidedBy = input.decidedBy;
      record.decidedAtMs = record.createdAtMs;
    }
    // Recorded before the approval exists: an approval nobody can find on the trail is never usable.
    await auditApproval(this.#o.audit, {
      event: record.status === 'approved' ? 'approved' : 'requested',
      record,
      actor: record.decidedBy ?? record.sub,
      via: input.via,
      origin: this.#o.origin,
    });
    await this.#o.store.create(record);
    return record;
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    return this.#o.store.get(id, this.#o.now());
  }

  /** A request the actor may see, or `not_found` (never saying whether it exists). */
  async show(actor: Actor, id: string): Promise<ApprovalRecord> {
    const r = typeof id === 'string' && id.length <= 200 ? await this.get(id) : undefined;
    if (!r || !mayView(this.rules, actor, r))
      throw new ToolcageError('not_found', {
        message: 'No such approval request (or it is not yours to see).',
      });
    return r;
  }

  async list(actor: Actor, filter: ApprovalFilter): Promise<ApprovalRecord[]> {
    const all = await this.#o.store.list({ ...filter, limit: 1000 }, this.#o.now());
    return all.filter((r) => mayView(this.rules, actor, r)).slice(0, filter.limit ?? 200);
  }

  mayDecideAny(actor: Actor, record: ApprovalRecord): boolean {
    return isApproverFor(this.rules, actor, record);
  }

  /**
   * Decides a pending request under the rules. A refused attempt (no approver
   * role, one's own request, unknown id) is on the trail too, with its code.
   */
  async decide(d: DecideRequest): Promise<{ record: ApprovalRecord; selfApproved: boolean }> {
    try {
      return await this.#decide(d);
    } catch (err) {
      const code = err instanceof ToolcageError ? err.code : 'internal';
      const known = await this.get(String(d.id).slice(0, 200)).catch(() => undefined);
      const forbids = err instanceof ToolcageError ? err.details?.policies : undefined;
      await auditRefusedDecision(this.#o.audit, {
        approvalId: String(d.id).slice(0, 128),
        decision: d.decision,
        approver: d.actor.subject,
        errorCode: code,
        requestId: d.requestId,
        origin: this.#o.origin,
        record: known,
        // The Cedar policies that forbade (or failed): the refused attempt names them too.
        ...(Array.isArray(forbids)
          ? { policy: { h: this.#policyHash, ids: forbids.map(String) } }
          : {}),
      }).catch(() => undefined);
      throw err;
    }
  }

  async #decide(d: DecideRequest): Promise<{ record: ApprovalRecord; selfApproved: boolean }> {
    const reason = d.reason?.trim();
    if (d.decision === 'denied' && !reason)
      throw new ToolcageError('request_invalid', {
        message: 'A denial needs a reason (the agent is shown it): pass one.',
      });
    if (reason !== undefined && reason.length > MAX_REASON)
      throw new ToolcageError('request_invalid', {
        message: `The reason is ${reason.length} characters; at most ${MAX_REASON}.`,
      });
    if (!isAnyApprover(this.rules, d.actor))
      throw new ToolcageError('policy_denied', {
        message: `You hold no approver role, so you cannot ${d.decision === 'approved' ? 'approve' : 'deny'} approval requests. Ask an administrator for one (policy \`approvers\` or broker.approverRoles).`,
      });
    const record = await this.show(d.actor, d.id);
    const nowMs = this.#o.now();
    const { self, pol } = this.#approveDecision(d, record, nowMs);
    if (
      !(await this.#o.store.decide(
        record.id,
        d.decision,
        d.actor.subject,
        nowMs,
        reason || undefined,
        d.anySession === true && d.decision === 'approved',
      ))
    )
      throw new ToolcageError('not_found', {
        message: `Approval ${record.id} is ${record.status === 'pending' ? 'expired' : record.status}; only a pending request can be decided.`,
      });
    const decided = (await this.get(record.id))!;
    await auditApproval(this.#o.audit, {
      event: d.decision,
      record: decided,
      actor: d.actor.subject,
      requestId: d.requestId,
      selfApproved: self,
      origin: this.#o.origin,
      policy: pol,
    });
    return { record: decided, selfApproved: self };
  }

  /**
   * The rules for one decision. Approving needs the role rule and, with Cedar
   * conditions, Cedar's `approve` action; denying needs only the role rule (a
   * denial never lets a call through, so no condition can make it unsafe).
   */
  #approveDecision(
    d: DecideRequest,
    record: ApprovalRecord,
    nowMs: number,
  ): { self: boolean; pol: DecisionRecord } {
    return decideApprove({
      rules: this.rules,
      conditions: d.decision === 'approved' ? this.#o.conditions : undefined,
      policyHash: this.#policyHash,
      registry: this.#o.registry,
      actor: d.actor,
      record,
      nowMs,
    });
  }

  /** The policy set hash the decision records name. */
  get policyHash(): string {
    return this.#policyHash;
  }

  /** The decision approving `record` would get, without deciding anything (`policy explain`). */
  explainApprove(
    actor: Actor,
    record: Parameters<typeof decideApprove>[0]['record'],
    trace: Parameters<typeof decideApprove>[1],
  ) {
    return decideApprove(
      {
        rules: this.rules,
        conditions: this.#o.conditions,
        policyHash: this.#policyHash,
        registry: this.#o.registry,
        actor,
        record,
        nowMs: this.#o.now(),
      },
      trace,
    );
  }

  /** The refusal an agent gets while its call waits for (or was refused) a human decision. */
  refusal(record: ApprovalRecord): ToolcageError {
    const view = this.view(record);
    const message =
      record.status === 'denied'
        ? `${record.tool}: approval request ${record.id} for exactly this call was denied by ${record.decidedBy ?? 'an approver'}: ${record.reason ?? '(no reason)'}. Do not retry these arguments; change them or talk to the approver.`
        : `${record.tool} needs a human's approval of exactly this call. Approval request ${record.id} is pending until ${view.expiresAt}; once an approver has approved it, call again with the same arguments.`;
    return new ToolcageError('approval_required', {
      message,
      ...(record.status === 'denied'
        ? {}
        : {
            hint: {
              kind: 'approve_request' as const,
              requestId: record.id,
              ...(view.consoleUrl ? { consoleUrl: view.consoleUrl } : {}),
            },
          }),
      details: {
        approvalId: record.id,
        status: record.status,
        expiresAt: view.expiresAt,
        ...(view.consoleUrl ? { consoleUrl: view.consoleUrl } : {}),
        ...(record.status === 'denied'
          ? { reason: record.reason ?? '', decidedBy: record.decidedBy ?? '' }
          : {}),
      },
    });
  }

  sweep(): Promise<number> {
    return this.#o.store.sweep(this.#o.now());
  }
}
