import { parseTenantKey, tenantPrefix } from '../../governors/keys.ts';
import { snapshotLimit } from '../../governors/validate.ts';
import type {
  GovernorSnapshot,
  GovernorSnapshotQuery,
  GovernorStateEntry,
} from '../../ports/governors.ts';
import { stateUnavailable, type RedisClient } from './client.ts';

/** Keys examined per SCAN step, and the most steps one snapshot takes (so at most ~100 000 keys looked at). */
const SCAN_COUNT = 500;
const MAX_SCAN_STEPS = 200;
/** Window counters carry the window's start as their last part (`...:spend:<startMs>`). */
const WINDOW_KINDS = new Set(['spend', 'session-spend', 'session-calls']);

/** A glob pattern matching `literal` exactly (SCAN MATCH treats `* ? [ ] \` specially). */
export function globEscape(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

type Read =
  | { kind: 'bucket'; key: string; redisKey: string }
  | { kind: 'window'; key: string; redisKey: string; windowStartMs: number }
  | { kind: 'loop'; key: string; redisKey: string };

/** What a governor key under `prefix` holds, from its name alone; undefined for other stores' keys. */
function classify(prefix: string, redisKey: string): Read | undefined {
  const key = redisKey.slice(prefix.length);
  const parsed = parseTenantKey(key);
  if (!parsed) return undefined;
  if (parsed.kind === 'rate') return { kind: 'bucket', key, redisKey };
  if (parsed.kind === 'loop') return { kind: 'loop', key, redisKey };
  if (WINDOW_KINDS.has(parsed.kind)) {
    const cut = key.lastIndexOf(':');
    const windowStartMs = Number(key.slice(cut + 1));
    if (!Number.isSafeInteger(windowStartMs)) return undefined;
    return { kind: 'window', key: key.slice(0, cut), redisKey, windowStartMs };
  }
  return undefined;
}

/**
 * The governors' keys under `prefix` (one tenant's, when asked) and what they
 * hold, read without changing anything: SCAN (never KEYS, which blocks Redis
 * for the whole keyspace) in bounded steps, then one pipeline of reads. Not a
 * point-in-time view: a key may change or expire between SCAN and read (an
 * expired one is left out). At most `limit` entries and `MAX_SCAN_STEPS`
 * steps; past either the snapshot says `truncated`.
 */
export async function redisGovernorSnapshot(o: {
  client: RedisClient;
  prefix: string;
  query: GovernorSnapshotQuery;
}): Promise<GovernorSnapshot> {
  const { client, prefix, query } = o;
  const limit = snapshotLimit(query.limit);
  const match =
    globEscape(prefix) +
    (query.tenant === undefined ? '{*' : `${globEscape(tenantPrefix(query.tenant))}*`);
  return stateUnavailable(client, 'governor snapshot', async () => {
    const reads: Read[] = [];
    let truncated = false;
    let cursor = '0';
    let steps = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT);
      cursor = next;
      steps += 1;
      for (const k of keys) {
        const read = classify(prefix, k);
        if (!read) continue;
        if (reads.length >= limit) {
          truncated = true;
          break;
        }
        reads.push(read);
      }
      if (steps >= MAX_SCAN_STEPS && cursor !== '0') truncated = true;
    } while (cursor !== '0' && !truncated);
    if (reads.length === 0) return { entries: [], truncated };
    const pipeline = client.pipeline();
    for (const r of reads) {
      if (r.kind === 'bucket') pipeline.hmget(r.redisKey, 't', 'ts');
      else if (r.kind === 'window') pipeline.get(r.redisKey);
      else pipeline.zrange(r.redisKey, '0', '-1', 'WITHSCORES');
    }
    const replies = (await pipeline.exec()) ?? [];
    const entries: GovernorStateEntry[] = [];
    reads.forEach((r, i) => {
      const [err, value] = replies[i] ?? [new Error('no reply'), null];
      if (err) throw err;
      const entry = toEntry(r, value);
      if (entry) entries.push(entry);
    });
    return { entries, truncated };
  });
}

function toEntry(r: Read, value: unknown): GovernorStateEntry | undefined {
  if (r.kind === 'bucket') {
    const [t, ts] = (value as [string | null, string | null]) ?? [null, null];
    const tokens = Number(t);
    const updatedAtMs = Number(ts);
    if (t === null || ts === null || !Number.isFinite(tokens) || !Number.isFinite(updatedAtMs))
      return undefined;
    return { kind: 'bucket', key: r.key, tokens, updatedAtMs };
  }
  if (r.kind === 'window') {
    if (value === null) return undefined;
    const spent = Number(value);
    return Number.isFinite(spent)
      ? { kind: 'window', key: r.key, spent, windowStartMs: r.windowStartMs }
      : undefined;
  }
  const flat = value as string[];
  if (!Array.isArray(flat) || flat.length === 0) return undefined;
  // WITHSCORES: member, score, member, score ...; the score is the call's time.
  const hitsMs = flat.filter((_, i) => i % 2 === 1).map(Number);
  return { kind: 'loop', key: r.key, hitsMs };
}
