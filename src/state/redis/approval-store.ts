import type {
  ApprovalConsumeOutcome,
  ApprovalEnvelope,
  ApprovalRecord,
  ApprovalStore,
} from '../../broker/approval-store.ts';
import {
  checkPrefix,
  closeRedisClient,
  LuaScript,
  stateUnavailable,
  type RedisClient,
} from './client.ts';
import type { RedisStoreOptions } from './replay-store.ts';

/** A record stays readable this long after it expires, so "used" and "expired" can still be told apart; then Redis drops it. */
const RETAIN_AFTER_EXPIRY_MS = 24 * 60 * 60 * 1000;

/**
 * KEYS[1] approval (JSON); ARGV decision, decidedBy, nowMs.
 * Pending and unexpired becomes decided; returns 1, else 0.
 */
const DECIDE = new LuaScript(`
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local r = cjson.decode(raw)
if r.status ~= 'pending' or tonumber(r.expiresAtMs) <= tonumber(ARGV[3]) then return 0 end
r.status = ARGV[1]
r.decidedBy = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(r), 'KEEPTTL')
return 1
`);

/**
 * KEYS[1] approval (JSON); ARGV tool, sub, tenant, argsHash, nowMs, session ('' for none).
 * The same decision as `consumeOutcome` (src/broker/approval-store.ts), made
 * and applied in one atomic step: only one of any number of concurrent
 * consumes, on any replica, gets 'ok'.
 */
const CONSUME = new LuaScript(`
local raw = redis.call('GET', KEYS[1])
if not raw then return 'missing' end
local r = cjson.decode(raw)
if r.tool ~= ARGV[1] or r.sub ~= ARGV[2] or r.tenant ~= ARGV[3] or r.argsHash ~= ARGV[4] then return 'mismatch' end
if r.anySession ~= true and (r.session or '') ~= ARGV[6] then return 'mismatch' end
if r.status ~= 'approved' then return r.status end
if tonumber(r.expiresAtMs) <= tonumber(ARGV[5]) then return 'expired' end
r.status = 'used'
redis.call('SET', KEYS[1], cjson.encode(r), 'KEEPTTL')
return 'ok'
`);

const OUTCOMES = new Set<ApprovalConsumeOutcome>([
  'ok',
  'missing',
  'mismatch',
  'expired',
  'used',
  'pending',
  'denied',
]);

/**
 * Human approvals on Redis, shared by every broker and runner replica.
 * Each record is one JSON string under `toolcage:approval:<id>`, expiring a
 * day after the approval itself; `decide` and `consume` are Lua scripts, so
 * an approval is used once across all replicas.
 */
export class RedisApprovalStore implements ApprovalStore {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #ownsClient: boolean;
  readonly #safety: RedisStoreOptions['safety'];

  constructor(options: RedisStoreOptions) {
    this.#client = options.client;
    this.#prefix = checkPrefix(options.prefix);
    this.#ownsClient = options.ownsClient ?? false;
    this.#safety = options.safety;
  }

  #key(id: string): string {
    if (typeof id !== 'string' || id === '')
      throw new TypeError(`Expected an approval id, got ${String(id)}`);
    return `${this.#prefix}approval:${encodeURIComponent(id)}`;
  }

  async create(record: ApprovalRecord): Promise<void> {
    const key = this.#key(record.id);
    if (!Number.isSafeInteger(record.expiresAtMs))
      throw new TypeError(
        `Expected expiresAtMs to be an integer, got ${String(record.expiresAtMs)}`,
      );
    const at = Math.max(record.expiresAtMs, Date.now()) + RETAIN_AFTER_EXPIRY_MS;
    const reply = await stateUnavailable(this.#client, 'approvals', () =>
      this.#client.set(key, JSON.stringify(record), 'PXAT', at, 'NX'),
    );
    if (reply !== 'OK') throw new Error(`approval ${record.id} exists`);
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const key = this.#key(id);
    const raw = await stateUnavailable(this.#client, 'approvals', () => this.#client.get(key));
    return raw === null ? undefined : (JSON.parse(raw) as ApprovalRecord);
  }

  async decide(
    id: string,
    decision: 'approved' | 'denied',
    decidedBy: string,
    nowMs: number,
  ): Promise<boolean> {
    const key = this.#key(id);
    const reply = await stateUnavailable(this.#client, 'approvals', () =>
      DECIDE.run(this.#client, [key], [decision, decidedBy, nowMs]),
    );
    return reply === 1;
  }

  async consume(
    id: string,
    envelope: ApprovalEnvelope,
    nowMs: number,
  ): Promise<ApprovalConsumeOutcome> {
    const key = this.#key(id);
    // A consumed approval evicted by Redis could be used again: same guard as claim ids.
    await stateUnavailable(this.#client, 'approvals', async () => this.#safety?.ensure());
    const reply = await stateUnavailable(this.#client, 'approvals', () =>
      CONSUME.run(
        this.#client,
        [key],
        [
          envelope.tool,
          envelope.sub,
          envelope.tenant,
          envelope.argsHash,
          nowMs,
          envelope.session ?? '',
        ],
      ),
    );
    if (typeof reply !== 'string' || !OUTCOMES.has(reply as ApprovalConsumeOutcome))
      throw new Error(`unexpected reply from the approval script: ${String(reply)}`);
    return reply as ApprovalConsumeOutcome;
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await closeRedisClient(this.#client);
  }
}
