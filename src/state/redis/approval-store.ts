import { createHash } from 'node:crypto';
import {
  isLive,
  listLimit,
  matchesFilter,
  MAX_LIST_LIMIT,
  RETAIN_AFTER_EXPIRY_MS,
  statusAt,
  type ApprovalConsumeOutcome,
  type ApprovalEnvelope,
  type ApprovalFilter,
  type ApprovalRecord,
  type ApprovalStore,
  type OpenedApproval,
} from '../../broker/approval-store.ts';
import {
  checkPrefix,
  closeRedisClient,
  LuaScript,
  stateUnavailable,
  type RedisClient,
} from './client.ts';
import type { RedisStoreOptions } from './replay-store.ts';

/** The longest approval lifetime the policy allows (approvalTtlSeconds ≤ 86 400). */
const MAX_APPROVAL_TTL_MS = 86_400_000;

/**
 * KEYS[1] record, KEYS[2] index (sorted set of ids by creation time);
 * ARGV json, expire-at ms, created-at ms, id. A new record, listed.
 */
const CREATE = new LuaScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2], 'NX') then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
`);

/**
 * KEYS[1] envelope → id of its newest request, KEYS[2] new record, KEYS[3] index;
 * ARGV json, nowMs, id, expire-at ms, created-at ms, record-key prefix.
 * Returns the live record for the envelope (JSON) if there is one; else
 * stores the new one, points the envelope at it and returns nil. One script,
 * so concurrent opens on any replica agree on one request. (The live record's
 * key is built here from the id the envelope key holds.)
 */
const OPEN = new LuaScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local raw = redis.call('GET', ARGV[6] .. cur)
  if raw then
    local r = cjson.decode(raw)
    if (r.status == 'pending' or r.status == 'approved' or r.status == 'denied')
      and tonumber(r.expiresAtMs) > tonumber(ARGV[2]) then
      return raw
    end
  end
end
if not redis.call('SET', KEYS[2], ARGV[1], 'PXAT', ARGV[4], 'NX') then
  return redis.error_reply('approval exists')
end
redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
return false
`);

/**
 * KEYS[1] approval (JSON); ARGV decision, decidedBy, nowMs, reason ('' for none),
 * anySession ('1' lets it be used in any session). Pending and unexpired becomes decided; returns 1, else 0.
 */
const DECIDE = new LuaScript(`
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local r = cjson.decode(raw)
if r.status ~= 'pending' or tonumber(r.expiresAtMs) <= tonumber(ARGV[3]) then return 0 end
r.status = ARGV[1]
r.decidedBy = ARGV[2]
r.decidedAtMs = tonumber(ARGV[3])
if ARGV[4] ~= '' then r.reason = ARGV[4] end
if ARGV[5] == '1' then r.anySession = true end
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

function envelopeDigest(e: ApprovalEnvelope): string {
  return createHash('sha256')
    .update(JSON.stringify([e.tool, e.sub, e.tenant, e.argsHash, e.session ?? '']))
    .digest('hex');
}

/**
 * Human approvals on Redis, shared by every broker and runner replica.
 * Each record is one JSON string under `<prefix>approval:<id>`, expiring a
 * day after the approval itself; `<prefix>approval-env:<sha256>` points an
 * envelope at its newest request, and `<prefix>approvals` lists ids by
 * creation time. `open`, `decide` and `consume` are Lua scripts, so a request
 * is reused, decided and used once across all replicas. Expiry is read from
 * each record's time (a pending request past it reads as expired); `sweep`
 * trims the list of records Redis has already dropped.
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

  get #index(): string {
    return `${this.#prefix}approvals`;
  }

  #run<T>(fn: () => Promise<T>): Promise<T> {
    return stateUnavailable(this.#client, 'approvals', fn);
  }

  static #expireAt(record: ApprovalRecord): number {
    if (!Number.isSafeInteger(record.expiresAtMs))
      throw new TypeError(
        `Expected expiresAtMs to be an integer, got ${String(record.expiresAtMs)}`,
      );
    return Math.max(record.expiresAtMs, Date.now()) + RETAIN_AFTER_EXPIRY_MS;
  }

  async create(record: ApprovalRecord): Promise<void> {
    const key = this.#key(record.id);
    const at = RedisApprovalStore.#expireAt(record);
    const reply = await this.#run(() =>
      CREATE.run(
        this.#client,
        [key, this.#index],
        [JSON.stringify(record), at, record.createdAtMs, encodeURIComponent(record.id)],
      ),
    );
    if (reply !== 1) throw new Error(`approval ${record.id} exists`);
  }

  async open(record: ApprovalRecord, nowMs: number): Promise<OpenedApproval> {
    const key = this.#key(record.id);
    const at = RedisApprovalStore.#expireAt(record);
    const reply = await this.#run(() =>
      OPEN.run(
        this.#client,
        [`${this.#prefix}approval-env:${envelopeDigest(record)}`, key, this.#index],
        [
          JSON.stringify(record),
          nowMs,
          encodeURIComponent(record.id),
          at,
          record.createdAtMs,
          `${this.#prefix}approval:`,
        ],
      ),
    );
    if (typeof reply === 'string') {
      const found = JSON.parse(reply) as ApprovalRecord;
      if (isLive(found, nowMs))
        return { record: { ...found, status: statusAt(found, nowMs) }, created: false };
    }
    return { record: { ...record }, created: true };
  }

  async get(id: string, nowMs = Date.now()): Promise<ApprovalRecord | undefined> {
    const key = this.#key(id);
    const raw = await this.#run(() => this.#client.get(key));
    if (raw === null) return undefined;
    const r = JSON.parse(raw) as ApprovalRecord;
    return { ...r, status: statusAt(r, nowMs) };
  }

  async list(filter: ApprovalFilter, nowMs: number): Promise<ApprovalRecord[]> {
    const ids = await this.#run(() => this.#client.zrevrange(this.#index, 0, MAX_LIST_LIMIT - 1));
    if (ids.length === 0) return [];
    const raws = await this.#run(() =>
      this.#client.mget(ids.map((id) => `${this.#prefix}approval:${id}`)),
    );
    return raws
      .flatMap((raw) => (raw === null ? [] : [JSON.parse(raw) as ApprovalRecord]))
      .map((r) => ({ ...r, status: statusAt(r, nowMs) }))
      .filter((r) => matchesFilter(r, filter))
      .slice(0, listLimit(filter));
  }

  async decide(
    id: string,
    decision: 'approved' | 'denied',
    decidedBy: string,
    nowMs: number,
    reason?: string,
    anySession?: boolean,
  ): Promise<boolean> {
    const key = this.#key(id);
    const reply = await this.#run(() =>
      DECIDE.run(
        this.#client,
        [key],
        [decision, decidedBy, nowMs, reason ?? '', anySession ? '1' : ''],
      ),
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
    await this.#run(async () => this.#safety?.ensure());
    const reply = await this.#run(() =>
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

  async sweep(nowMs: number): Promise<number> {
    // Records drop themselves (PXAT); what remains is their ids in the list.
    const cutoff = nowMs - RETAIN_AFTER_EXPIRY_MS - MAX_APPROVAL_TTL_MS;
    return this.#run(() => this.#client.zremrangebyscore(this.#index, '-inf', cutoff));
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await closeRedisClient(this.#client);
  }
}
