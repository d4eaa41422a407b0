import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  consumeOutcome,
  isLive,
  listLimit,
  RETAIN_AFTER_EXPIRY_MS,
  statusAt,
  type ApprovalConsumeOutcome,
  type ApprovalEnvelope,
  type ApprovalFilter,
  type ApprovalRecord,
  type ApprovalStore,
  type OpenedApproval,
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
  tool_version: string | null;
  manifest_sha256: string | null;
  risk: string | null;
  session: string | null;
  any_session: number;
  args_json: string | null;
  requested_via: string | null;
  decided_at_ms: number | null;
}

function toRecord(row: Row, nowMs: number): ApprovalRecord {
  const r: ApprovalRecord = {
    id: row.id,
    tool: row.tool,
    sub: row.sub,
    tenant: row.tenant,
    argsHash: row.args_hash,
    status: row.status as ApprovalRecord['status'],
    createdAtMs: Number(row.created_at_ms),
    expiresAtMs: Number(row.expires_at_ms),
    ...(row.tool_version ? { toolVersion: row.tool_version } : {}),
    ...(row.manifest_sha256 ? { manifestSha256: row.manifest_sha256 } : {}),
    ...(row.risk ? { risk: row.risk } : {}),
    ...(row.session ? { session: row.session } : {}),
    ...(Number(row.any_session) === 1 ? { anySession: true } : {}),
    ...(row.args_json !== null ? { argsJson: row.args_json } : {}),
    ...(row.requested_via ? { requestedVia: row.requested_via } : {}),
    ...(row.decided_by ? { decidedBy: row.decided_by } : {}),
    ...(row.decided_at_ms !== null ? { decidedAtMs: Number(row.decided_at_ms) } : {}),
    ...(row.reason ? { reason: row.reason } : {}),
  };
  return { ...r, status: statusAt(r, nowMs) };
}

/**
 * Durable approvals in the workspace database. `open` runs in one IMMEDIATE
 * transaction (the write lock is taken before the read), so two processes
 * asking for the same envelope at once get one request; `consume` is one
 * conditional UPDATE, so single use holds across processes.
 */
export class SqliteApprovalStore implements ApprovalStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #get: StatementSync;
  readonly #live: StatementSync;
  readonly #decide: StatementSync;
  readonly #consume: StatementSync;
  readonly #expire: StatementSync;
  readonly #drop: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(`INSERT INTO approvals (id, tool, sub, tenant, args_hash, status,
      created_at_ms, expires_at_ms, decided_by, reason, tool_version, manifest_sha256, risk, session,
      any_session, args_json, requested_via, decided_at_ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#get = db.prepare('SELECT * FROM approvals WHERE id = ?');
    this.#live = db.prepare(`SELECT * FROM approvals
      WHERE tool = ? AND sub = ? AND tenant = ? AND args_hash = ? AND session IS ?
        AND status IN ('pending', 'approved', 'denied') AND expires_at_ms > ?
      ORDER BY created_at_ms DESC LIMIT 1`);
    this.#decide =
      db.prepare(`UPDATE approvals SET status = ?, decided_by = ?, decided_at_ms = ?, reason = ?,
        any_session = MAX(any_session, ?)
      WHERE id = ? AND status = 'pending' AND expires_at_ms > ?`);
    this.#consume = db.prepare(`UPDATE approvals SET status = 'used'
      WHERE id = ? AND status = 'approved' AND tool = ? AND sub = ? AND tenant = ? AND args_hash = ? AND expires_at_ms > ?
        AND (any_session = 1 OR session IS ?)`);
    this.#expire = db.prepare(`UPDATE approvals SET status = 'expired'
      WHERE status IN ('pending', 'approved') AND expires_at_ms <= ?`);
    this.#drop = db.prepare('DELETE FROM approvals WHERE expires_at_ms <= ?');
  }

  async create(r: ApprovalRecord): Promise<void> {
    this.#insertSync(r);
  }

  #insertSync(r: ApprovalRecord): void {
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
      r.toolVersion ?? null,
      r.manifestSha256 ?? null,
      r.risk ?? null,
      r.session ?? null,
      r.anySession ? 1 : 0,
      r.argsJson ?? null,
      r.requestedVia ?? null,
      r.decidedAtMs ?? null,
    );
  }

  async open(record: ApprovalRecord, nowMs: number): Promise<OpenedApproval> {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const row = this.#live.get(
        record.tool,
        record.sub,
        record.tenant,
        record.argsHash,
        record.session ?? null,
        nowMs,
      ) as Row | undefined;
      const found = row ? toRecord(row, nowMs) : undefined;
      if (found && isLive(found, nowMs)) {
        this.#db.exec('COMMIT');
        return { record: found, created: false };
      }
      // No await inside the transaction: another connection in this thread waiting on the
      // write lock would block the event loop before this one could commit.
      this.#insertSync(record);
      this.#db.exec('COMMIT');
      return { record: { ...record }, created: true };
    } catch (err) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  async get(id: string, nowMs = Date.now()): Promise<ApprovalRecord | undefined> {
    const row = this.#get.get(id) as Row | undefined;
    return row ? toRecord(row, nowMs) : undefined;
  }

  async list(f: ApprovalFilter, nowMs: number): Promise<ApprovalRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (f.status === 'expired') {
      where.push(
        `(status = 'expired' OR (status IN ('pending', 'approved') AND expires_at_ms <= ?))`,
      );
      params.push(nowMs);
    } else if (f.status === 'pending' || f.status === 'approved') {
      where.push('status = ? AND expires_at_ms > ?');
      params.push(f.status, nowMs);
    } else if (f.status !== undefined) {
      where.push('status = ?');
      params.push(f.status);
    }
    for (const [col, v] of [
      ['tool', f.tool],
      ['tenant', f.tenant],
      ['sub', f.subject],
    ] as const) {
      if (v === undefined) continue;
      where.push(`${col} = ?`);
      params.push(v);
    }
    const sql = `SELECT * FROM approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at_ms DESC LIMIT ${listLimit(f)}`;
    return (this.#db.prepare(sql).all(...params) as unknown as Row[]).map((r) =>
      toRecord(r, nowMs),
    );
  }

  async decide(
    id: string,
    decision: 'approved' | 'denied',
    decidedBy: string,
    nowMs: number,
    reason?: string,
    anySession?: boolean,
  ): Promise<boolean> {
    const any = anySession ? 1 : 0;
    return (
      Number(
        this.#decide.run(decision, decidedBy, nowMs, reason ?? null, any, id, nowMs).changes,
      ) === 1
    );
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
    const outcome = consumeOutcome(await this.get(id, nowMs), e, nowMs);
    return outcome === 'ok' ? 'used' : outcome;
  }

  async sweep(nowMs: number): Promise<number> {
    const expired = Number(this.#expire.run(nowMs).changes);
    return expired + Number(this.#drop.run(nowMs - RETAIN_AFTER_EXPIRY_MS).changes);
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}
