import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { BreakerRule, SessionBreakerStore, SessionPause } from '../../governors/breaker.ts';
import { tenantPrefix } from '../../governors/keys.ts';

/** Session breaker state in the workspace database: every toolcage process on the machine sees one pause. */
export class SqliteSessionBreakerStore implements SessionBreakerStore {
  readonly #db: DatabaseSync;
  readonly #paused: StatementSync;
  readonly #prune: StatementSync;
  readonly #insert: StatementSync;
  readonly #count: StatementSync;
  readonly #pause: StatementSync;
  readonly #unpause: StatementSync;
  readonly #forget: StatementSync;
  readonly #list: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS session_failures (key TEXT NOT NULL, at_ms INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS session_failures_key ON session_failures (key, at_ms);
      CREATE TABLE IF NOT EXISTS session_pauses (
        key TEXT PRIMARY KEY, paused_at_ms INTEGER NOT NULL, reason TEXT NOT NULL
      ) WITHOUT ROWID;
    `);
    this.#paused = db.prepare('SELECT paused_at_ms, reason FROM session_pauses WHERE key = ?');
    this.#prune = db.prepare('DELETE FROM session_failures WHERE key = ? AND at_ms <= ?');
    this.#insert = db.prepare('INSERT INTO session_failures (key, at_ms) VALUES (?, ?)');
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM session_failures WHERE key = ?');
    this.#pause = db.prepare(
      'INSERT OR IGNORE INTO session_pauses (key, paused_at_ms, reason) VALUES (?, ?, ?)',
    );
    this.#unpause = db.prepare('DELETE FROM session_pauses WHERE key = ?');
    this.#forget = db.prepare('DELETE FROM session_failures WHERE key = ?');
    // A range on the primary key: every key of one tenant starts with `{tenant}:` (governors/keys.ts).
    this.#list = db.prepare(
      'SELECT key, paused_at_ms, reason FROM session_pauses WHERE key >= ? AND key < ? ORDER BY paused_at_ms DESC LIMIT ?',
    );
  }

  async paused(key: string): Promise<SessionPause | undefined> {
    const row = this.#paused.get(key) as { paused_at_ms: number; reason: string } | undefined;
    return row ? { pausedAtMs: Number(row.paused_at_ms), reason: row.reason } : undefined;
  }

  async fail(key: string, nowMs: number, rule: BreakerRule, reason: string): Promise<boolean> {
    // One write transaction: concurrent processes count every failure exactly once.
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      if (this.#paused.get(key)) {
        this.#db.exec('COMMIT');
        return true;
      }
      this.#prune.run(key, nowMs - rule.windowSeconds * 1000);
      this.#insert.run(key, nowMs);
      const { n } = this.#count.get(key) as { n: number };
      const trip = Number(n) >= rule.maxFailures;
      if (trip) this.#pause.run(key, nowMs, reason);
      this.#db.exec('COMMIT');
      return trip;
    } catch (e) {
      this.#db.exec('ROLLBACK');
      throw e;
    }
  }

  async resume(key: string): Promise<boolean> {
    this.#forget.run(key);
    return Number(this.#unpause.run(key).changes) === 1;
  }

  async listPaused(query: {
    tenant?: string | undefined;
    limit: number;
  }): Promise<Array<SessionPause & { key: string }>> {
    // The keys starting with `from` are exactly [from, from with its last character incremented).
    const from = query.tenant === undefined ? '{' : tenantPrefix(query.tenant);
    const to = from.slice(0, -1) + String.fromCharCode(from.charCodeAt(from.length - 1) + 1);
    const rows = this.#list.all(from, to, query.limit) as {
      key: string;
      paused_at_ms: number;
      reason: string;
    }[];
    return rows.map((r) => ({ key: r.key, pausedAtMs: Number(r.paused_at_ms), reason: r.reason }));
  }
}
