import { randomUUID } from 'node:crypto';
import { ToolcageError, toToolcageError } from '../errors/toolcage-error.ts';
import type { ClaimVerifier } from '../claims/verify.ts';
import type { ClaimPayload, DpopVerifier, VerifiedClaim } from '../ports/claims.ts';
import type { ApprovalStore, ReplayStore } from '../ports/stores.ts';
import type { AuditEvent, AuditSink } from '../ports/audit.ts';
import { auditUnavailable, recordDecision } from '../audit/audit.ts';
import type { LoadedTool, ToolSource } from '../ports/tool.ts';
import type { RunResult, SandboxBackend } from '../ports/sandbox.ts';
import { DEFAULT_INPUT_LIMITS, type JsonShapeLimits } from '../validation/json-limits.ts';
import { NULL_OBSERVER, type ExecutorObserver, type Stage } from './observer.ts';
import { approvalEnvelope, approvalRefusal, bindClaim } from './binding.ts';
import { validateInput, validateOutput } from './checks.ts';
import { runInSandbox } from './sandbox-run.ts';
import { auditEvent, type Trail } from './trail.ts';
import type { Admission } from '../ports/admission.ts';
import type { ConcurrencyGate, GovernorGate, SessionGate } from '../ports/gates.ts';
import type { GovernorPlan } from '../ports/governors.ts';
import { SequentialAdmission } from '../governors/admission.ts';
import type { CredentialLease, CredentialProvider } from '../ports/credentials.ts';
import type { ExecuteCall, ExecuteOutcome, Executor, ToolSummary } from '../ports/execute.ts';

export interface ExecutorOptions {
  /** The verified registry; a function so that a reload swaps it atomically. */
  registry: () => ToolSource;
  /** Tools withheld after a reload that did not verify (their pins changed): neither listed nor run. */
  withheld?: () => ReadonlySet<string>;
  verifier: ClaimVerifier;
  replay: ReplayStore;
  approvals: ApprovalStore;
  backends: Partial<Record<'js' | 'docker', SandboxBackend>>;
  audit: AuditSink;
  governors?: GovernorGate;
  /** Spends the jti and decides the governors' plan (default: the replay store, then `governors.decide`). */
  admission?: Admission;
  concurrency?: ConcurrencyGate;
  /** Pauses a session after repeated refusals or failures (claims with `sid`). */
  sessions?: SessionGate;
  credentials?: CredentialProvider;
  dpop?: DpopVerifier;
  observer?: ExecutorObserver;
  inputLimits?: JsonShapeLimits;
  /** Extra time allowed beyond the tool's timeoutMs before the executor gives up on a backend (default 2000). */
  runGraceMs?: number;
  /** What `readiness()` reports as the state store kind. */
  storesKind?: string;
  now?: () => number;
}

/**
 * The pipeline, in one place:
 *
 *   resolve manifest → verify claim → proof of possession
 *   → decide (tool, scope, args_hash, approval peek: binding.ts)
 *   → admit (consume jti + governors: one Admission) → validate input (checks.ts)
 *   → lease credentials → queue → run in sandbox (sandbox-run.ts)
 *   → validate output (size, leaks, JSON, schema: checks.ts) → audit (trail.ts)
 *
 * Every adapter (library, CLI, HTTP, MCP) calls `execute` and maps its
 * ToolcageError; none adds behaviour of its own. Every decision, allowed or
 * refused, writes exactly one audit line.
 */
export class ToolcageExecutor implements Executor {
  readonly #o: ExecutorOptions & {
    observer: ExecutorObserver;
    inputLimits: JsonShapeLimits;
    now: () => number;
    runGraceMs: number;
  };
  readonly #admission: Admission;
  #closed = false;

  constructor(options: ExecutorOptions) {
    if (typeof options?.registry !== 'function')
      throw new TypeError(
        `Expected options.registry to be a function returning the Registry, got ${typeof options?.registry}`,
      );
    for (const k of ['verifier', 'replay', 'approvals', 'audit', 'backends'] as const) {
      if (!options[k]) throw new TypeError(`Expected options.${k}, got ${String(options[k])}`);
    }
    this.#o = {
      observer: NULL_OBSERVER,
      inputLimits: DEFAULT_INPUT_LIMITS,
      now: Date.now,
      runGraceMs: 2000,
      ...options,
    };
    const gate = options.governors;
    this.#admission =
      options.admission ??
      new SequentialAdmission({
        replay: options.replay,
        ...(gate ? { decide: (plan: GovernorPlan) => gate.decide(plan) } : {}),
      });
  }

  listTools(): ToolSummary[] {
    const withheld = this.#o.withheld?.() ?? new Set<string>();
    return this.#o
      .registry()
      .list()
      .filter((t) => !withheld.has(t.manifest.id))
      .map((t) => t.summary);
  }

  async readiness(): Promise<{
    ready: boolean;
    backends: Record<string, { usable: boolean; detail: string }>;
    stores: string;
    withheld: Array<{ id: string; problems: string[] }>;
    audit?: { ready: boolean; detail: string };
  }> {
    const backends: Record<string, { usable: boolean; detail: string }> = {};
    for (const [kind, backend] of Object.entries(this.#o.backends)) {
      backends[kind] = backend
        ? await backend.health().catch((e: Error) => ({ usable: false, detail: e.message }))
        : { usable: false, detail: 'not configured' };
    }
    const audit = await this.#o.audit
      .health?.()
      .catch((e: Error) => ({ ready: false, detail: e.message }));
    // A backend still starting (a service listens while it is made) holds readiness back: a
    // replica is ready only once every sandbox it was configured with has started.
    const ready =
      !this.#closed &&
      Object.values(backends).some((b) => b.usable) &&
      !Object.values(backends).some((b) => 'starting' in b && b.starting === true) &&
      audit?.ready !== false;
    const withheld = this.#o
      .registry()
      .withheld.map((w) => ({ id: w.id, problems: [...w.problems] }));
    return {
      ready,
      backends,
      stores: this.#o.storesKind ?? this.#o.replay.kind,
      withheld,
      ...(audit ? { audit } : {}),
    };
  }

  async execute(call: ExecuteCall): Promise<ExecuteOutcome> {
    const invocationId = `inv_${randomUUID()}`;
    const trail: Trail = {
      started: this.#o.now(),
      invocationId,
      ref: {
        requestId: call.requestId,
        invocationId,
        ...(call.traceparent !== undefined ? { traceparent: call.traceparent } : {}),
        ...(call.mcpMethod !== undefined ? { mcpMethod: call.mcpMethod } : {}),
      },
    };
    this.#o.observer.begin?.(trail.ref, call.toolId);
    try {
      if (this.#closed)
        throw new ToolcageError('sandbox_unavailable', {
          message: 'The runner is shutting down; retry on another replica.',
        });
      // Fail closed before anything runs: a trail that cannot take records takes no decisions.
      const health = await this.#o.audit.health?.();
      if (health && !health.ready) throw auditUnavailable(new Error(health.detail));
      const result = await this.#pipeline(call, trail);
      await this.#audit(call, trail, 'allowed');
      return { result, invocationId: trail.invocationId };
    } catch (err) {
      const error = toToolcageError(err);
      // The allowed call's record was refused: its result is withheld (no decision without its record).
      if (trail.audited) throw error;
      // A refusal stays a refusal even when its record cannot be written; readiness reports the trail.
      await this.#audit(call, trail, error.status >= 500 ? 'failed' : 'refused', error.code).catch(
        () => {},
      );
      const c = trail.claim;
      // Only a verified claim counts against its session: a forged one cannot trip another's breaker.
      if (c?.sid && this.#o.sessions && trail.stage !== 'verify')
        await this.#o.sessions.record(c.tenant, c.sid, error.code).catch(() => undefined);
      throw error;
    }
  }

  async #pipeline(call: ExecuteCall, trail: Trail): Promise<unknown> {
    const tool = this.#time(trail, 'resolve', call.toolId, () => this.#resolve(call.toolId));
    trail.tool = tool;

    const verified = await this.#timeAsync(trail, 'verify', tool, async () => {
      const v = await this.#o.verifier.verify(call.claim);
      trail.claim = v.payload;
      await this.#checkPossession(call, v);
      return v;
    });
    const claim = verified.payload;
    if (claim.sid && this.#o.sessions) await this.#o.sessions.check(claim.tenant, claim.sid);

    const argsHash = await this.#admit(call, tool, claim, trail);
    trail.argsHash = argsHash;

    this.#time(trail, 'validate_input', tool, () =>
      validateInput(tool, call.args, trail.canonicalArgs!, this.#o.inputLimits),
    );

    const deadlineMs = this.#o.now() + tool.manifest.limits.timeoutMs;
    const lease = await this.#timeAsync(trail, 'lease', tool, () =>
      this.#lease(claim, tool, deadlineMs, trail),
    );
    try {
      if (claim.approval_id !== undefined) await this.#consumeApproval(tool, claim, argsHash);
      const queuedAt = this.#o.now();
      const run = async (): Promise<RunResult> => {
        this.#o.observer.stage('queue', tool.manifest.id, this.#o.now() - queuedAt, trail.ref);
        return this.#timeAsync(trail, 'run', tool, () =>
          runInSandbox(this.#o, call, tool, lease, trail),
        );
      };
      const result = this.#o.concurrency
        ? await this.#o.concurrency.run(claim.tenant, run, call.signal)
        : await run();
      return this.#time(trail, 'validate_output', tool, () =>
        validateOutput(tool, result, lease, trail, this.#o.inputLimits.maxDepth),
      );
    } finally {
      await lease?.release().catch(() => undefined);
    }
  }

  /**
   * Bind the claim to the call, then admit it: spend the jti and apply the
   * governors in one Admission (in sequence on embedded stores, one script
   * on Redis). The observable order is: replay first (a replayed claim is
   * `claim_replayed` whatever else is wrong with it and charges nothing),
   * then the binding, then the governors; a claim presented once is spent
   * even when refused. The binding is checked first, in memory (and an
   * approval is only peeked at), so that a refused binding is admitted with
   * an empty plan: the jti is spent and no governor is charged.
   */
  async #admit(
    call: ExecuteCall,
    tool: LoadedTool,
    claim: ClaimPayload,
    trail: Trail,
  ): Promise<string> {
    let binding: { argsHash: string } | { refusal: unknown };
    try {
      const argsHash = await this.#timeAsync(trail, 'decide', tool, () =>
        bindClaim(call, tool, claim, trail, { store: this.#o.approvals, now: this.#o.now }),
      );
      binding = { argsHash };
    } catch (refusal) {
      binding = { refusal };
    }
    const gate = this.#o.governors;
    const plan =
      'argsHash' in binding && gate
        ? gate.plan({
            principal: claim.sub,
            tenant: claim.tenant,
            toolId: tool.manifest.id,
            argsHash: binding.argsHash,
            cost: tool.manifest.cost,
            session: claim.sid,
          })
        : { nowMs: this.#o.now(), buckets: [] };
    const id = { iss: claim.iss, jti: claim.jti, iat: claim.iat };
    const horizon = this.#o.verifier.replayHorizonMs(claim);
    const verdict = await this.#timeAsync(trail, 'replay', tool, () =>
      this.#admission.admit(id, horizon, plan),
    );
    if (verdict === 'replayed') throw new ToolcageError('claim_replayed');
    if ('refusal' in binding) {
      trail.stage = 'decide'; // for the audit line: the binding refused, not the replay check
      throw binding.refusal;
    }
    this.#time(trail, 'govern', tool, () => {
      if (verdict.refused !== undefined && gate) throw gate.refusal(verdict, tool.manifest.cost);
    });
    return binding.argsHash;
  }

  #resolve(toolId: string): LoadedTool {
    if (typeof toolId === 'string' && this.#o.withheld?.().has(toolId))
      throw new ToolcageError('registry_invalid', {
        message: `${toolId}'s pinned hashes changed and the new registry lock did not verify; it is withheld until a lock that verifies is loaded.`,
      });
    const tool = typeof toolId === 'string' ? this.#o.registry().get(toolId) : undefined;
    if (!tool)
      throw new ToolcageError('tool_not_allowed', {
        message: `Tool "${String(toolId).slice(0, 200)}" is not in the registry allowlist.`,
        hint: 'list_tools',
      });
    return tool;
  }

  async #checkPossession(call: ExecuteCall, v: VerifiedClaim): Promise<void> {
    const jkt = v.payload.cnf?.jkt;
    if (jkt === undefined) return;
    if (!call.dpop?.proof || !this.#o.dpop || call.claim === undefined) {
      throw new ToolcageError('dpop_invalid', {
        message:
          'This claim is bound to a key (cnf.jkt): present a DPoP proof signed by that key (RFC 9449). Transports without DPoP, like the CLI, cannot use bound claims.',
      });
    }
    await this.#o.dpop({
      proof: call.dpop.proof,
      htm: call.dpop.htm,
      htu: call.dpop.htu,
      jkt,
      claim: call.claim,
    });
  }

  async #consumeApproval(tool: LoadedTool, claim: ClaimPayload, argsHash: string): Promise<void> {
    const outcome = await this.#o.approvals.consume(
      claim.approval_id!,
      approvalEnvelope(tool.manifest.id, claim, argsHash),
      this.#o.now(),
    );
    if (outcome !== 'ok') throw approvalRefusal(outcome);
  }

  async #lease(
    claim: ClaimPayload,
    tool: LoadedTool,
    deadlineMs: number,
    trail: Trail,
  ): Promise<CredentialLease | undefined> {
    if (tool.manifest.credentials.length === 0) return undefined;
    if (!this.#o.credentials) {
      throw new ToolcageError('sandbox_unavailable', {
        message: `${tool.manifest.id} needs credential lanes (${tool.manifest.credentials.map((c) => c.lane).join(', ')}) but this runner has none configured.`,
      });
    }
    const lease = await this.#o.credentials.lease(claim, tool, deadlineMs, trail.invocationId);
    trail.lanes = lease.lanes;
    return lease;
  }

  #time<T>(trail: Trail, stage: Stage, toolOrId: LoadedTool | string, fn: () => T): T {
    trail.stage = stage;
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.#o.observer.stage(
        stage,
        typeof toolOrId === 'string' ? toolOrId : toolOrId.manifest.id,
        performance.now() - t0,
        trail.ref,
      );
    }
  }

  async #timeAsync<T>(
    trail: Trail,
    stage: Stage,
    tool: LoadedTool,
    fn: () => Promise<T>,
  ): Promise<T> {
    trail.stage = stage;
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.#o.observer.stage(stage, tool.manifest.id, performance.now() - t0, trail.ref);
    }
  }

  async #audit(
    call: ExecuteCall,
    trail: Trail,
    outcome: AuditEvent['outcome'],
    errorCode?: string,
  ): Promise<void> {
    trail.audited = true;
    const durationMs = this.#o.now() - trail.started;
    const traceId = this.#o.observer.traceId?.(trail.ref);
    const event = auditEvent(call, trail, outcome, durationMs, errorCode, traceId);
    let reported: [AuditEvent['outcome'], string | undefined] = [outcome, errorCode];
    try {
      await recordDecision(this.#o.audit, event);
    } catch (err) {
      if (outcome === 'allowed') reported = ['failed', 'audit_unavailable'];
      throw err;
    } finally {
      this.#o.observer.outcome(event.toolId, reported[0], reported[1], durationMs, trail.ref);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(Object.values(this.#o.backends).map((b) => b?.dispose()));
    await this.#o.audit.flush();
  }
}
