import { randomUUID } from 'node:crypto';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { recordDecision, type AuditSink } from '../../audit/audit.ts';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { approvalToOpen, type ApprovalToOpen } from '../approval-prompts.ts';
import { ERROR_META_KEY } from '../results.ts';
import type { TaskError, TaskRecord, TaskStore } from '../../ports/mcp-tasks.ts';

/**
 * The JSON-RPC code of a failed task's `error` (the server-error range,
 * implementation-defined): the toolcage error object is its `data`, with the
 * contract code (`approval_required` with status `denied`, `approval_expired`,
 * `task_interrupted`).
 */
export const TASK_FAILED_RPC_CODE = -32000;

/** What the approval request's durable record says, where this host can read it (a local broker). */
export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired' | 'unknown';

export interface TaskServiceOptions {
  store: TaskStore;
  audit: AuditSink;
  pollIntervalMs: number;
  /** How long a task is kept after its approval request expires. */
  retentionMs: number;
  runLeaseMs: number;
  /**
   * The approval request's state, read without deciding anything. Without it
   * (a remote broker) the call itself is retried, once per poll interval, to
   * learn it: the broker answers `approval_required` while it is pending.
   */
  approvalState?: (approvalId: string) => Promise<ApprovalState>;
  now?: () => number;
}

/** The identity a task belongs to: nobody else can see it. */
export function taskOwner(principal: { sub: string; tenant: string }): string {
  return JSON.stringify([principal.tenant, principal.sub]);
}

/** Runs the task's call, as the caller asking about it (who is its owner). */
export type RunCall = (call: TaskRecord['call']) => Promise<CallToolResult>;

function notFound(taskId: string): ToolcageError {
  return new ToolcageError('task_not_found', {
    message: `Task ${String(taskId).slice(0, 80)} does not exist, has expired, or belongs to another identity. Call the tool again to get a new task.`,
  });
}

/** The toolcage error object an error result carries (`_meta["toolcage/error"]`). */
function errorObject(result: CallToolResult): Record<string, unknown> | undefined {
  const e = result._meta?.[ERROR_META_KEY];
  return e && typeof e === 'object' ? (e as Record<string, unknown>) : undefined;
}

function textOf(result: CallToolResult): string {
  const first = result.content?.[0];
  return first && first.type === 'text' ? first.text : 'The call was refused.';
}

/**
 * MCP tasks for calls that wait for a human approval: created when a
 * task-capable client's `tools/call` names a pending approval request; moved
 * on by the client's polls (`tasks/get`), on whichever replica they land,
 * through compare-and-set on the shared record. Once the request is approved
 * one replica wins the run lease and runs the call (a fresh claim, exactly
 * once); denied or expired, the task fails with the reason. Nothing here
 * approves anything: the approval is the broker's durable record.
 */
export class TaskService {
  readonly #o: TaskServiceOptions;
  readonly #now: () => number;

  constructor(options: TaskServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get pollIntervalMs(): number {
    return this.#o.pollIntervalMs;
  }

  /** A task for a call refused with a pending `approval_required` naming a console page; undefined otherwise. */
  async create(input: {
    owner: string;
    subject: string;
    tenant: string;
    call: TaskRecord['call'];
    refusal: CallToolResult;
  }): Promise<TaskRecord | undefined> {
    const approval: ApprovalToOpen | undefined = approvalToOpen(input.refusal);
    if (!approval) return undefined;
    const details = errorObject(input.refusal)?.details as Record<string, unknown> | undefined;
    const now = this.#now();
    const expires = Date.parse(String(details?.expiresAt ?? ''));
    const approvalExpiresAtMs = Number.isFinite(expires) ? expires : now + 900_000;
    const record: TaskRecord = {
      id: `tsk_${randomUUID()}`,
      owner: input.owner,
      version: 1,
      call: input.call,
      approvalId: approval.approvalId,
      consoleUrl: approval.url,
      message: approval.message,
      phase: 'waiting',
      prompted: false,
      createdAtMs: now,
      updatedAtMs: now,
      approvalExpiresAtMs,
      retainUntilMs: Math.max(approvalExpiresAtMs, now) + this.#o.retentionMs,
      nextProbeAtMs: now + this.#o.pollIntervalMs,
    };
    // Recorded before it exists: a task nobody can find on the trail never runs anything.
    await recordDecision(this.#o.audit, {
      kind: 'mcp_task',
      event: 'created',
      taskId: record.id,
      approvalId: record.approvalId,
      subject: input.subject,
      tenant: input.tenant,
      toolId: input.call.name,
    });
    await this.#o.store.create(record);
    return record;
  }

  /** The owner's task; `task_not_found` for anybody else's. */
  async find(owner: string, taskId: string): Promise<TaskRecord> {
    if (typeof taskId !== 'string' || taskId.length > 200) throw notFound(String(taskId));
    const record = await this.#o.store.get(taskId, this.#now());
    // Another identity's task reads exactly like an unknown one.
    if (!record || record.owner !== owner) throw notFound(taskId);
    return record;
  }

  /** Moves `record` to `change` if nobody moved it first; the record as it is now either way. */
  async #move(record: TaskRecord, change: Partial<TaskRecord>): Promise<TaskRecord | undefined> {
    const next: TaskRecord = {
      ...record,
      ...change,
      version: record.version + 1,
      updatedAtMs: this.#now(),
    };
    const moved = await this.#o.store.replace(next, record.version);
    if (
      moved &&
      next.phase !== record.phase &&
      ['completed', 'failed', 'cancelled'].includes(next.phase)
    )
      await recordDecision(this.#o.audit, {
        kind: 'mcp_task',
        event: next.phase as 'completed' | 'failed' | 'cancelled',
        taskId: next.id,
        approvalId: next.approvalId,
        toolId: next.call.name,
        ...(next.error?.data?.code ? { errorCode: String(next.error.data.code) } : {}),
      });
    return moved ? next : undefined;
  }

  #failure(code: 'approval_expired' | 'task_interrupted', record: TaskRecord): TaskError {
    const message =
      code === 'approval_expired'
        ? `Approval request ${record.approvalId} expired before anybody approved it; the call did not run. Call the tool again to open a new request.`
        : `The replica running this call stopped before it finished; check the audit trail for approval ${record.approvalId} before calling again.`;
    return {
      code: TASK_FAILED_RPC_CODE,
      message: `${code}: ${message}`,
      data: { code, message, approvalId: record.approvalId },
    };
  }

  /**
   * The task as the owner sees it now, moved on first where it can be: an
   * expired approval fails it; an approved one runs the call (this replica,
   * if it wins the lease); a denied one fails it with the approver's reason.
   */
  async get(owner: string, taskId: string, run: RunCall): Promise<TaskRecord> {
    // A lost race re-reads: another replica moved the task, and its move is the news.
    for (let attempt = 0; attempt < 3; attempt++) {
      const record = await this.find(owner, taskId);
      const next = await this.#advance(record, run);
      if (next) return next;
    }
    return this.find(owner, taskId);
  }

  /** The record moved on, unchanged when nothing is due, or undefined when another replica moved it first. */
  async #advance(record: TaskRecord, run: RunCall): Promise<TaskRecord | undefined> {
    const now = this.#now();
    if (record.phase === 'running') {
      if ((record.leaseUntilMs ?? 0) > now) return record;
      return this.#move(record, {
        phase: 'failed',
        error: this.#failure('task_interrupted', record),
      });
    }
    if (record.phase !== 'waiting') return record;
    if (now >= record.approvalExpiresAtMs)
      return this.#move(record, {
        phase: 'failed',
        error: this.#failure('approval_expired', record),
      });
    const state = (await this.#o.approvalState?.(record.approvalId)) ?? 'unknown';
    if (state === 'pending') return record;
    if (state === 'expired')
      return this.#move(record, {
        phase: 'failed',
        error: this.#failure('approval_expired', record),
      });
    // Nothing to read here (a remote broker): the call itself asks, once per poll interval.
    if (state === 'unknown' && (record.nextProbeAtMs ?? 0) > now) return record;
    const leased = await this.#move(record, {
      phase: 'running',
      leaseUntilMs: now + this.#o.runLeaseMs,
    });
    if (!leased) return undefined;
    return this.#run(leased, run);
  }

  /** This replica holds the lease: the call runs once, and its outcome settles the task. */
  async #run(record: TaskRecord, run: RunCall): Promise<TaskRecord | undefined> {
    let result: CallToolResult;
    try {
      result = await run(record.call);
    } catch (err) {
      // A protocol error now (the tool was withdrawn from the allowlist): the task fails with it.
      const message = err instanceof Error ? err.message : String(err);
      return this.#move(record, {
        phase: 'failed',
        leaseUntilMs: undefined,
        error: {
          code:
            typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : -32603,
          message,
        },
      });
    }
    const error = errorObject(result);
    const details = error?.details as Record<string, unknown> | undefined;
    if (error?.code === 'approval_required' && details?.approvalId === record.approvalId) {
      if (details.status === 'denied')
        return this.#move(record, {
          phase: 'failed',
          leaseUntilMs: undefined,
          error: { code: TASK_FAILED_RPC_CODE, message: textOf(result), data: error },
        });
      // Still pending: back to waiting, the next look after one poll interval.
      return this.#move(record, {
        phase: 'waiting',
        leaseUntilMs: undefined,
        nextProbeAtMs: this.#now() + this.#o.pollIntervalMs,
      });
    }
    if (error?.code === 'approval_required' && details?.approvalId !== undefined)
      // The broker opened a new request for the same call: ours expired (a remote broker says no more).
      return this.#move(record, {
        phase: 'failed',
        leaseUntilMs: undefined,
        error: this.#failure('approval_expired', record),
      });
    // It ran (or was refused for another reason, e.g. a governor): the call's result, as a plain call gives it.
    return this.#move(record, {
      phase: 'completed',
      leaseUntilMs: undefined,
      result: result as Record<string, unknown>,
    });
  }

  close(): Promise<void> {
    return this.#o.store.close();
  }

  /** `tasks/update`: the client answered the URL elicitation; the task reads `working` from now on. */
  async acknowledge(owner: string, taskId: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const record = await this.find(owner, taskId);
      if (record.prompted || record.phase !== 'waiting') return;
      if (await this.#move(record, { prompted: true })) return;
    }
  }

  /** `tasks/cancel`: a waiting task is cancelled (the approval request stays until it expires). */
  async cancel(owner: string, taskId: string): Promise<TaskRecord> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const record = await this.find(owner, taskId);
      if (record.phase === 'running')
        throw new ToolcageError('request_invalid', {
          message: `Task ${record.id} is running its call now and cannot be cancelled; poll it for the result.`,
        });
      if (record.phase !== 'waiting')
        throw new ToolcageError('request_invalid', {
          message: `Task ${record.id} is already ${record.phase}; only a task still waiting for its approval can be cancelled.`,
        });
      const moved = await this.#move(record, { phase: 'cancelled' });
      if (moved) return moved;
    }
    return this.find(owner, taskId);
  }
}
