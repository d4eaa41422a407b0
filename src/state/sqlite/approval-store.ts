import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  consumeOutcome,
  type ApprovalConsumeOutcome,
  type ApprovalEnvelope,
  type ApprovalRecord,
  type ApprovalStore,
} from '../../broker/approval-store.ts';

interface Row {
  id: string;
  tool: string;
  sub: string;
  tenant: string;
  args_hash: string;
  status: string;
  created_at_ms: number;
  expires_at_ms: number;
  decided_by: string | null;
  reason: string | null;
  session: string | null;
  any_session: number;
}

function toRecord(row: Row): ApprovalRecord {
  return {
    id: row.id,
    tool: row.tool,
    sub: row.sub,
    tenant: row.tenant,
    argsHash: row.args_hash,
    status: row.status as ApprovalRecord['status'],
    createdAtMs: Number(row.created_at_ms),
    expiresAtMs: Number(row.expires_at_ms),
    ...(row.decided_by ? { decidedBy: row.decided_by } : {}),
    ...(row.reason ? { reason: row.reason } : {}),
    ...(row.session !== null ? { session: row.session } : {}),
    ...(Number(row.any_session) === 1 ? { anySession: true } : {}),
  };
}

/** Durable approvals in the workspace database; `consume` is one conditional UPDATE, so single use holds across processes. */
export class SqliteApprovalStore implements ApprovalStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #get: StatementSync;
  readonly #decide: StatementSync;
  readonly #consume: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert =
      db.prepare(`INSERT INTO approvals (id, tool, sub, tenant, args_hash, status, created_at_ms, expires_at_ms, decided_by, reason, session, any_session)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#get = db.prepare('SELECT * FROM approvals WHERE id = ?');
    this.#decide = db.prepare(
      `UPDATE approvals SET status = ?, decided_by = ? WHERE id = ? AND status = 'pending' AND expires_at_ms > ?`,
    );
    this.#consume = db.prepare(`UPDATE approvals SET status = 'used'
      WHERE id = ? AND status = 'approved' AND tool = ? AND sub = ? AND tenant = ? AND args_hash = ? AND expires_at_ms > ?
        AND (any_session = 1 OR session IS ?)`);
  }

  async create(r: ApprovalRecord): Promise<void> {
    this.#insert.run(
      r.id,
      r.tool,
      r.sub,
      r.tenant,
      r.argsHash,
      r.status,
      r.createdAtMs,
      r.expiresAtMs,
      r.decidedBy ?? null,
      r.reason ?? null,
      r.session ?? null,
      r.anySession ? 1 : 0,
    );
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const row = this.#get.get(id) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  async decide(
    id: string,
    decision: 'approved' | 'denied',
    decidedBy: string,
    nowMs: number,
  ): Promise<boolean> {
    return Number(this.#decide.run(decision, decidedBy, id, nowMs).changes) === 1;
  }

  async consume(id: string, e: ApprovalEnvelope, nowMs: number): Promise<ApprovalConsumeOutcome> {
    if (
      Number(
        this.#consume.run(id, e.tool, e.sub, e.tenant, e.argsHash, nowMs, e.session ?? null)
          .changes,
      ) === 1
    )
      return 'ok';
    // Not consumed: read the row only to say why (the answer is never 'ok' here).
    const outcome = consumeOutcome(await this.get(id), e, nowMs);
    return outcome === 'ok' ? 'used' : outcome;
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}
