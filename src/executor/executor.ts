import { randomUUID } from 'node:crypto';
import { ToolcageError, toToolcageError } from '../errors/toolcage-error.ts';
import type { ClaimVerifier } from '../claims/verify.ts';
import type { ReplayStore } from '../claims/replay-store.ts';
import type { ClaimPayload, VerifiedClaim } from '../claims/claim.ts';
import type { ApprovalStore, ApprovalConsumeOutcome } from '../broker/approval-store.ts';
import { consumeOutcome } from '../broker/approval-store.ts';
import {
  auditUnavailable,
  recordDecision,
  type AuditEvent,
  type AuditSink,
} from '../audit/audit.ts';
import type { LoadedTool, Registry } from '../registry/registry.ts';
import type { RunResult, SandboxBackend } from '../sandbox/backend.ts';
import { argsHashOfCanonical, canonicalJson } from '../registry/hash.ts';
import {
  checkJsonShape,
  DEFAULT_INPUT_LIMITS,
  type JsonShapeLimits,
} from '../validation/json-limits.ts';
import { LeakScanner } from '../validation/leak-scan.ts';
import { NULL_OBSERVER, type CallRef, type ExecutorObserver, type Stage } from './observer.ts';
import type {
  AdmissionStep,
  ConcurrencyGate,
  CredentialLease,
  CredentialProvider,
  DpopVerifier,
  GovernorGate,
} from './ports.ts';
import type { ExecuteCall, ExecuteOutcome, Executor, ToolSummary } from './types.ts';

export interface ExecutorOptions {
  /** The verified registry; a function so that a reload swaps it atomically. */
  registry: () => Registry;
  verifier: ClaimVerifier;
  replay: ReplayStore;
  approvals: ApprovalStore;
  backends: Partial<Record<'js' | 'docker', SandboxBackend>>;
  audit: AuditSink;
  governors?: GovernorGate;
  /** Replay + governors in one step on shared stores (see AdmissionStep). */
  admission?: AdmissionStep;
  concurrency?: ConcurrencyGate;
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

const RUN_FAILURE_MESSAGES: Record<string, (tool: LoadedTool) => string> = {
  timeout: (t) =>
    `The tool ${t.manifest.id} ran past its ${t.manifest.limits.timeoutMs} ms time limit and was stopped.`,
  memory_limit: (t) =>
    `The tool ${t.manifest.id} went past its ${t.manifest.limits.memoryMb} MB memory limit and was stopped.`,
  output_too_large: (t) =>
    `The tool ${t.manifest.id} produced more than ${t.manifest.limits.maxOutputBytes} bytes of output; it was withheld.`,
};

/** Per-call facts gathered along the pipeline, for the audit line. */
interface Trail {
  started: number;
  invocationId: string;
  /** Names this call to the observer's hooks. */
  ref: CallRef;
  tool?: LoadedTool;
  claim?: ClaimPayload;
  argsHash?: string;
  lanes?: string[];
  backend?: string;
  diagnostic?: string;
  /** The last pipeline stage entered. */
  stage?: Stage;
  /** RFC 8785 text of the arguments, computed once for the hash and the size cap. */
  canonicalArgs?: string;
  /** The decision's record was handed to the sink (so a failure after it is the sink's). */
  audited?: boolean;
}

/**
 * The pipeline, in one place:
 *
 *   resolve manifest → verify claim → proof of possession → consume jti
 *   → decide (tool, scope, args_hash, approval) → governors (loop, rate, spend)
 *   → validate input → lease credentials → queue → run in sandbox
 *   → validate output (size, JSON, leaks, schema) → audit
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
  }

  listTools(): ToolSummary[] {
    return this.#o
      .registry()
      .list()
      .map((t) => t.summary);
  }

  async readiness(): Promise<{
    ready: boolean;
    backends: Record<string, { usable: boolean; detail: string }>;
    stores: string;
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
    const ready =
      !this.#closed && Object.values(backends).some((b) => b.usable) && audit?.ready !== false;
    return {
      ready,
      backends,
      stores: this.#o.storesKind ?? this.#o.replay.kind,
      ...(audit ? { audit } : {}),
    };
  }

  async execute(call: ExecuteCall): Promise<ExecuteOutcome> {
    const invocationId = `inv_${randomUUID()}`;
    const trail: Trail = {
      started: this.#o.now(),
      invocationId,
      ref: { requestId: call.requestId, invocationId },
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

    const argsHash = await this.#admit(call, tool, claim, trail);
    trail.argsHash = argsHash;

    this.#time(trail, 'validate_input', tool, () =>
      this.#validateInput(tool, call.args, trail.canonicalArgs!),
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
        return this.#timeAsync(trail, 'run', tool, () => this.#run(call, tool, lease, trail));
      };
      const result = this.#o.concurrency
        ? await this.#o.concurrency.run(claim.tenant, run, call.signal)
        : await run();
      return this.#time(trail, 'validate_output', tool, () =>
        this.#validateOutput(tool, result, lease, trail),
      );
    } finally {
      await lease?.release().catch(() => undefined);
    }
  }

  /**
   * Consume the jti, bind the claim to the call, apply the governors. The
   * observable order is always: replay first (a replayed claim is
   * `claim_replayed` whatever else is wrong with it), then the binding, then
   * the governors; a claim presented once is spent even when refused.
   *
   * With an AdmissionStep (shared stores) the binding is checked first, in
   * memory, and the jti and the governors then go in one round trip; a
   * binding refusal still consumes the jti before it is reported.
   */
  async #admit(
    call: ExecuteCall,
    tool: LoadedTool,
    claim: ClaimPayload,
    trail: Trail,
  ): Promise<string> {
    const id = { iss: claim.iss, jti: claim.jti };
    const horizon = this.#o.verifier.replayHorizonMs(claim);
    const consume = () =>
      this.#timeAsync(trail, 'replay', tool, async () => {
        if (!(await this.#o.replay.consume(id, horizon))) throw new ToolcageError('claim_replayed');
      });
    const governed = (argsHash: string) => ({
      principal: claim.sub,
      tenant: claim.tenant,
      toolId: tool.manifest.id,
      argsHash,
      cost: tool.manifest.cost,
    });
    const gate = this.#o.governors;
    const admission = this.#o.admission;
    if (!admission || !gate?.plan || !gate.refusal) {
      await consume();
      const argsHash = await this.#timeAsync(trail, 'decide', tool, () =>
        this.#decide(call, tool, claim, trail),
      );
      if (gate) await this.#timeAsync(trail, 'govern', tool, () => gate.check(governed(argsHash)));
      return argsHash;
    }
    let argsHash: string;
    try {
      argsHash = await this.#timeAsync(trail, 'decide', tool, () =>
        this.#decide(call, tool, claim, trail),
      );
    } catch (refusal) {
      await consume();
      throw refusal;
    }
    await this.#timeAsync(trail, 'govern', tool, async () => {
      const verdict = await admission.admit(id, horizon, gate.plan!(governed(argsHash)));
      if (verdict === 'replayed') throw new ToolcageError('claim_replayed');
      if (verdict.refused !== undefined) throw gate.refusal!(verdict, tool.manifest.cost);
    });
    return argsHash;
  }

  #resolve(toolId: string): LoadedTool {
    const tool = typeof toolId === 'string' ? this.#o.registry().get(toolId) : undefined;
    if (!tool)
      throw new ToolcageError('tool_not_allowed', {
        message: `Tool "${String(toolId).slice(0, 200)}" is not in the registry allowlist. List the allowed tools with GET /v1/tools.`,
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

  /** Binds the verified claim to this call. Returns the args hash. */
  async #decide(
    call: ExecuteCall,
    tool: LoadedTool,
    claim: ClaimPayload,
    trail: Trail,
  ): Promise<string> {
    const m = tool.manifest;
    if (claim.tool !== m.id)
      throw new ToolcageError('tool_mismatch', {
        message: `The claim was minted for "${claim.tool.slice(0, 200)}", not "${m.id}". Mint a claim for the tool you are calling.`,
      });
    const granted = new Set(claim.scope);
    const missing = [...m.scopes, ...m.credentials.flatMap((c) => c.scopes)].filter(
      (s) => !granted.has(s),
    );
    if (missing.length > 0) {
      throw new ToolcageError('scope_insufficient', {
        message: `The claim scope lacks ${[...new Set(missing)].join(', ')}, which ${m.id} requires.`,
        details: { missing: [...new Set(missing)] },
      });
    }
    let hash: string;
    try {
      trail.canonicalArgs = canonicalJson(call.args ?? null);
      hash = argsHashOfCanonical(trail.canonicalArgs);
    } catch {
      throw new ToolcageError('input_invalid', {
        message: 'The arguments are not a JSON value that can be canonicalised (RFC 8785).',
      });
    }
    if (hash !== claim.args_hash) throw new ToolcageError('args_mismatch');
    if (m.risk === 'high' || claim.approval_id !== undefined) {
      if (!claim.approval_id) throw new ToolcageError('approval_required');
      // Peek now so a missing approval is refused before governors charge the call;
      // the atomic consume happens right before the run.
      const outcome = consumeOutcome(
        await this.#o.approvals.get(claim.approval_id),
        this.#envelope(m.id, claim, hash),
        this.#o.now(),
      );
      if (outcome !== 'ok') throw approvalRefusal(outcome);
    }
    return hash;
  }

  #envelope(tool: string, claim: ClaimPayload, argsHash: string) {
    return { tool, sub: claim.sub, tenant: claim.tenant, argsHash };
  }

  async #consumeApproval(tool: LoadedTool, claim: ClaimPayload, argsHash: string): Promise<void> {
    const outcome = await this.#o.approvals.consume(
      claim.approval_id!,
      this.#envelope(tool.manifest.id, claim, argsHash),
      this.#o.now(),
    );
    if (outcome !== 'ok') throw approvalRefusal(outcome);
  }

  #validateInput(tool: LoadedTool, args: unknown, text: string): void {
    const shape = checkJsonShape(args, this.#o.inputLimits, Buffer.byteLength(text));
    if (shape) throw new ToolcageError('input_invalid', { message: `The arguments ${shape}.` });
    const v = tool.validateInput(args);
    if (!v.ok)
      throw new ToolcageError('input_invalid', {
        message: `The arguments do not match ${tool.manifest.id}'s input schema: ${v.errors.join('; ')}.`,
        details: { errors: v.errors },
      });
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

  async #run(
    call: ExecuteCall,
    tool: LoadedTool,
    lease: CredentialLease | undefined,
    trail: Trail,
  ): Promise<RunResult> {
    const backend = this.#o.backends[tool.manifest.runtime];
    trail.backend = backend?.kind ?? tool.manifest.runtime;
    if (!backend)
      throw new ToolcageError('sandbox_unavailable', {
        message: `No ${tool.manifest.runtime} sandbox backend is configured on this runner.`,
      });
    // The backend enforces timeoutMs itself; this outer deadline only guards
    // against a backend that fails to (a hung engine), so a call always ends.
    // (A plain timer and one controller: AbortSignal.timeout/any cost more per call.)
    const controller = new AbortController();
    let deadlinePassed = false;
    const timer = setTimeout(() => {
      deadlinePassed = true;
      controller.abort(new ToolcageError('timeout'));
    }, tool.manifest.limits.timeoutMs + this.#o.runGraceMs);
    const onCallAbort = () => controller.abort(call.signal?.reason);
    if (call.signal?.aborted) onCallAbort();
    else call.signal?.addEventListener('abort', onCallAbort, { once: true });
    let result: RunResult;
    try {
      result = await backend.run(
        {
          invocationId: trail.invocationId,
          tool: tool.sandbox,
          input: call.args,
          credentials: lease?.credentials ?? [],
        },
        controller.signal,
      );
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onCallAbort);
    }
    if (result.stderr) {
      // stderr goes to the audit line only, and only when it carries no credential of this run.
      const leaked =
        lease && lease.secrets.length > 0 && new LeakScanner(lease.secrets).found(result.stderr);
      trail.diagnostic = leaked
        ? 'stderr withheld: it carried a credential of this run'
        : result.stderr.slice(0, 2048);
    }
    if (!result.ok) {
      if (deadlinePassed && !call.signal?.aborted)
        throw new ToolcageError('timeout', { message: RUN_FAILURE_MESSAGES.timeout!(tool) });
      const message =
        RUN_FAILURE_MESSAGES[result.code]?.(tool) ?? `${tool.manifest.id}: ${result.message}`;
      throw new ToolcageError(result.code, { message });
    }
    return result;
  }

  #validateOutput(
    tool: LoadedTool,
    result: RunResult,
    lease: CredentialLease | undefined,
    trail: Trail,
  ): unknown {
    if (!result.ok) throw new ToolcageError('internal');
    const limits = tool.manifest.limits;
    if (Buffer.byteLength(result.outputJson) > limits.maxOutputBytes)
      throw new ToolcageError('output_too_large', {
        message: RUN_FAILURE_MESSAGES.output_too_large!(tool),
      });
    if (lease && lease.secrets.length > 0) {
      const scanner = new LeakScanner(lease.secrets);
      if (
        scanner.found(result.outputJson) ||
        (result.stderr !== undefined && scanner.found(result.stderr))
      ) {
        trail.diagnostic = 'credential value found in tool output or stderr; output withheld';
        throw new ToolcageError('credential_leak');
      }
    }
    let output: unknown;
    try {
      output = JSON.parse(result.outputJson);
    } catch {
      throw new ToolcageError('sandbox_failed', {
        message: `${tool.manifest.id} returned output that is not JSON.`,
      });
    }
    const v = tool.validateOutput(output);
    if (!v.ok)
      throw new ToolcageError('output_invalid', {
        message: `${tool.manifest.id} returned output that does not match its output schema (${v.errors.slice(0, 5).join('; ')}); it was withheld.`,
        details: { errors: v.errors },
      });
    return output;
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
    const t = trail.tool;
    const c = trail.claim;
    const traceId = this.#o.observer.traceId?.(trail.ref);
    const event: AuditEvent = {
      kind: 'call',
      requestId: call.requestId,
      invocationId: trail.invocationId,
      ...(traceId ? { traceId } : {}),
      toolId: t?.manifest.id ?? String(call.toolId).slice(0, 200),
      durationMs,
      outcome,
      ...(trail.stage ? { stage: trail.stage } : {}),
      ...(t
        ? {
            toolVersion: t.manifest.version,
            manifestSha256: t.manifestSha256,
            limits: { ...t.manifest.limits },
          }
        : {}),
      ...(c
        ? {
            jti: c.jti,
            subject: c.sub,
            tenant: c.tenant,
            scope: c.scope,
            ...(c.approval_id ? { approvalId: c.approval_id } : {}),
          }
        : {}),
      ...(trail.argsHash ? { argsHash: trail.argsHash } : c ? { argsHash: c.args_hash } : {}),
      credentialLanes: trail.lanes ?? [],
      // The backend the call ran on, or would have: refusals before the run still say which sandbox the tool uses.
      ...((trail.backend ?? t) ? { backend: trail.backend ?? t!.manifest.runtime } : {}),
      ...(errorCode ? { errorCode } : {}),
      ...(trail.diagnostic ? { diagnostic: trail.diagnostic } : {}),
    };
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

function approvalRefusal(outcome: ApprovalConsumeOutcome): ToolcageError {
  const why: Record<Exclude<ApprovalConsumeOutcome, 'ok'>, string> = {
    missing: 'The approval id in the claim is unknown.',
    mismatch: 'The approval was given for a different tool, subject, tenant or arguments.',
    expired: 'The approval has expired.',
    used: 'The approval was already used; approvals are single-use.',
    pending: 'The approval request is still pending; a human must approve it first.',
    denied: 'The approval request was denied.',
  };
  return new ToolcageError('approval_required', {
    message: `${why[outcome as Exclude<ApprovalConsumeOutcome, 'ok'>]} Ask a human to approve exactly this call (\`toolcage broker approve --tool ID --args FILE --sub S\`), then mint a claim carrying the new approval id.`,
  });
}
