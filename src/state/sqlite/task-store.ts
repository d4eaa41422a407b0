import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { TaskRecord, TaskStore } from '../../ports/mcp-tasks.ts';

/**
 * MCP tasks in the workspace database, so that every `toolcage mcp` process
 * on the machine answers for every task. A change is a compare-and-set on the
 * record's version; records past their retention are never returned and are
 * swept on creation.
 */
export class SqliteTaskStore implements TaskStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #get: StatementSync;
  readonly #replace: StatementSync;
  readonly #sweep: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS mcp_tasks (
        id TEXT PRIMARY KEY, version INTEGER NOT NULL, record TEXT NOT NULL,
        retain_until_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS mcp_tasks_retention ON mcp_tasks (retain_until_ms);
    `);
    this.#insert = db.prepare(
      'INSERT INTO mcp_tasks (id, version, record, retain_until_ms) VALUES (?, ?, ?, ?)',
    );
    this.#get = db.prepare('SELECT record FROM mcp_tasks WHERE id = ? AND retain_until_ms > ?');
    this.#replace = db.prepare(
      'UPDATE mcp_tasks SET version = ?, record = ?, retain_until_ms = ? WHERE id = ? AND version = ?',
    );
    this.#sweep = db.prepare('DELETE FROM mcp_tasks WHERE retain_until_ms <= ?');
  }

  async create(r: TaskRecord): Promise<void> {
    this.#sweep.run(r.createdAtMs);
    this.#insert.run(r.id, r.version, JSON.stringify(r), Math.floor(r.retainUntilMs));
  }

  async get(id: string, nowMs: number): Promise<TaskRecord | undefined> {
    const row = this.#get.get(id, nowMs) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as TaskRecord) : undefined;
  }

  async replace(next: TaskRecord, expectedVersion: number): Promise<boolean> {
    const { changes } = this.#replace.run(
      next.version,
      JSON.stringify(next),
      Math.floor(next.retainUntilMs),
      next.id,
      expectedVersion,
    );
    return Number(changes) === 1;
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}
