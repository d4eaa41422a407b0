/**
 * The durable record of one MCP task (the Tasks extension,
 * `io.modelcontextprotocol/tasks`): a `tools/call` of a high-risk tool that
 * waits for a human decision on its approval request. Kept in toolcage's
 * shared state (SQLite file or Redis) so any replica can answer for it.
 */

/** `waiting` for the approval; `running` the call (one replica holds the lease); then terminal. */
export type TaskPhase = 'waiting' | 'running' | 'completed' | 'failed' | 'cancelled';

/** A JSON-RPC error object: what a failed task carries (its `data` holds the toolcage error). */
export interface TaskError {
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

export interface TaskRecord {
  /** `tsk_<uuid>`: unguessable, and useless to anybody but `owner`. */
  id: string;
  /** Who created it (tenant and subject): nobody else can read, answer or cancel it. */
  owner: string;
  /** Bumped on every change: a replica replaces a record only if nobody moved it first. */
  version: number;
  /** The call, as the client sent it: run as is once the request is approved. */
  call: { name: string; arguments?: Record<string, unknown> };
  approvalId: string;
  consoleUrl: string;
  /** What the person is told about the approval (shown in the URL elicitation and the status). */
  message: string;
  phase: TaskPhase;
  /** The client answered the URL elicitation (`tasks/update`): the task reads `working` from then on. */
  prompted: boolean;
  /** A completed task's `tools/call` result. */
  result?: Record<string, unknown>;
  error?: TaskError;
  createdAtMs: number;
  updatedAtMs: number;
  /** When the approval request expires: a task still waiting then fails. */
  approvalExpiresAtMs: number;
  /** The store forgets the record at this time (the task's `ttlMs` counts from creation). */
  retainUntilMs: number;
  /** `running`: the replica running the call holds it until then (a crashed run fails after). */
  leaseUntilMs?: number | undefined;
  /** `waiting`: no new look at the approval before this time (one per poll interval). */
  nextProbeAtMs?: number;
}

export interface TaskStore {
  create(record: TaskRecord): Promise<void>;
  /** The record, unless it is unknown or past `retainUntilMs`. */
  get(id: string, nowMs: number): Promise<TaskRecord | undefined>;
  /**
   * Stores `next` (whose version must be `expectedVersion + 1`) if the stored
   * record is still at `expectedVersion`; false when another replica moved it first.
   */
  replace(next: TaskRecord, expectedVersion: number): Promise<boolean>;
  close(): Promise<void>;
}
