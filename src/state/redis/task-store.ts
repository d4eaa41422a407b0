import type { TaskRecord, TaskStore } from '../../ports/mcp-tasks.ts';
import { checkPrefix, closeRedisClient, stateUnavailable, type RedisClient } from './client.ts';

// One hash per task: `v` (version) and `r` (the record), expiring by itself.
const CREATE = `
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'r', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

// Compare-and-set on the version, atomically: two replicas moving one task cannot both win.
const REPLACE = `
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

/**
 * MCP tasks on Redis, so that every replica of `toolcage mcp` answers for
 * every task: a task created on one replica is polled, run and completed on
 * any other. Fails closed like the other stores (`state_unavailable`).
 */
export class RedisTaskStore implements TaskStore {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #owned: boolean;

  /** `owned`: close() disconnects the client (it was opened for this store). */
  constructor(options: { client: RedisClient; prefix?: string; owned?: boolean }) {
    this.#client = options.client;
    this.#prefix = checkPrefix(options.prefix);
    this.#owned = options.owned ?? false;
  }

  #key(id: string): string {
    return `${this.#prefix}mcp-task:${id}`;
  }

  #ttl(r: TaskRecord): number {
    return Math.max(1, Math.ceil(r.retainUntilMs - Date.now()));
  }

  async create(r: TaskRecord): Promise<void> {
    await stateUnavailable(this.#client, 'tasks', () =>
      this.#client.eval(CREATE, 1, this.#key(r.id), r.version, JSON.stringify(r), this.#ttl(r)),
    );
  }

  async get(id: string, nowMs: number): Promise<TaskRecord | undefined> {
    const raw = await stateUnavailable(this.#client, 'tasks', () =>
      this.#client.hget(this.#key(id), 'r'),
    );
    if (raw === null) return undefined;
    const record = JSON.parse(raw) as TaskRecord;
    return record.retainUntilMs > nowMs ? record : undefined;
  }

  async replace(next: TaskRecord, expectedVersion: number): Promise<boolean> {
    const done = await stateUnavailable(this.#client, 'tasks', () =>
      this.#client.eval(
        REPLACE,
        1,
        this.#key(next.id),
        String(expectedVersion),
        next.version,
        JSON.stringify(next),
        this.#ttl(next),
      ),
    );
    return done === 1;
  }

  async close(): Promise<void> {
    if (this.#owned) await closeRedisClient(this.#client);
  }
}
