// Two `toolcage serve` processes sharing one Redis (state.stores: redis): every piece of state that
// protects a call is one state, whichever replica a load balancer picks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';
import {
  call,
  deleteKeys,
  getJson,
  invoke,
  keysWithTtl,
  mint,
  openBroker,
  outcome,
  replicaWorkspace,
  SHARED_REDIS_URL,
  sleep,
  startReplica,
  uniquePrefix,
  type Replica,
  type Workspace,
} from './helpers.ts';

const OFF = { enabled: false };
const PRINCIPAL_CAPACITY = 4;
const SPEND_BUDGET = 6;
const LOOP_MAX = 3;
const SPEND_WINDOW_S = 86_400;

const prefix = uniquePrefix('shared-state');
let ws: Workspace;
let broker: BrokerRuntime;
let a: Replica;
let b: Replica;

beforeAll(async () => {
  ws = await replicaWorkspace({
    url: SHARED_REDIS_URL,
    keyPrefix: prefix,
    config: {
      governors: {
        // Refill of one token per 1000 s: within the test a bucket only empties.
        rateLimits: {
          principal: { capacity: PRINCIPAL_CAPACITY, refillPerSecond: 0.001 },
          tool: OFF,
          tenant: OFF,
        },
        spend: { budget: SPEND_BUDGET, windowSeconds: SPEND_WINDOW_S },
        loopGuard: { maxRepeats: LOOP_MAX, windowSeconds: 60 },
      },
    },
  });
  broker = await openBroker(ws);
  [a, b] = await Promise.all([startReplica(ws, 'A'), startReplica(ws, 'B')]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await broker?.close();
  await deleteKeys(SHARED_REDIS_URL, prefix);
  ws?.cleanup();
});

let seq = 0;
const text = () => ({ text: `call number ${seq++}` });
/** Alternates replicas, as a round-robin load balancer would. */
const replica = (i: number): Replica => (i % 2 === 0 ? a : b);

describe('two replicas on one Redis', () => {
  it('both report the redis store as ready in /readyz', async () => {
    for (const r of [a, b]) {
      const ready = await getJson(r.url, '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({
        ready: true,
        stores: 'redis',
        storesHealth: { usable: true, detail: 'redis answers; maxmemory-policy noeviction' },
        backends: { js: { usable: true } },
      });
    }
  });

  it('a claim consumed on A is refused on B with claim_replayed (409), and again on A', async () => {
    const args = text();
    const { claim } = await mint(broker, 'text.word_count', args);
    const first = await invoke(a.url, 'text.word_count', args, claim);
    expect(first.status).toBe(200);
    expect(first.body.result).toMatchObject({ words: 3 });
    expect(outcome(await invoke(b.url, 'text.word_count', args, claim))).toEqual({
      status: 409,
      code: 'claim_replayed',
    });
    expect(outcome(await invoke(a.url, 'text.word_count', args, claim))).toEqual({
      status: 409,
      code: 'claim_replayed',
    });
  });

  it(`a principal's rate limit is one bucket: ${PRINCIPAL_CAPACITY} calls spread over both replicas pass, the next is rate_limited on either`, async () => {
    const o = { sub: 'rate-agent', tenant: 'rate-tenant' };
    for (let i = 0; i < PRINCIPAL_CAPACITY; i++)
      expect(outcome(await call(replica(i).url, broker, 'text.word_count', text(), o))).toEqual({
        status: 200,
        code: undefined,
      });
    for (const r of [a, b]) {
      const refused = await call(r.url, broker, 'text.word_count', text(), o);
      expect(outcome(refused)).toEqual({ status: 429, code: 'rate_limited' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Another principal of the same tenant has its own bucket.
    expect(
      (await call(b.url, broker, 'text.word_count', text(), { ...o, sub: 'other-agent' })).status,
    ).toBe(200);
  });

  it(`a tenant's spend cap is one budget: ${SPEND_BUDGET} units over both replicas pass, the next is quota_exceeded on either`, async () => {
    // All calls in one epoch-aligned window: skip to the next one if this one ends within 15 s.
    const left = SPEND_WINDOW_S * 1000 - (Date.now() % (SPEND_WINDOW_S * 1000));
    if (left < 15_000) await sleep(left + 50);
    // A fresh principal per call, so the per-principal bucket never decides here.
    for (let i = 0; i < SPEND_BUDGET; i++)
      expect(
        outcome(
          await call(replica(i).url, broker, 'text.word_count', text(), {
            sub: `spender-${i}`,
            tenant: 'spend-tenant',
          }),
        ),
      ).toEqual({ status: 200, code: undefined });
    for (const r of [b, a]) {
      const refused = await call(r.url, broker, 'text.word_count', text(), {
        sub: `spender-${r.name}`,
        tenant: 'spend-tenant',
      });
      expect(outcome(refused)).toEqual({ status: 429, code: 'quota_exceeded' });
    }
    expect(
      (
        await call(a.url, broker, 'text.word_count', text(), {
          sub: 'spender-x',
          tenant: 'frugal-tenant',
        })
      ).status,
    ).toBe(200);
  });

  it(`the loop guard counts identical calls on both replicas: the ${LOOP_MAX + 1}th is loop_detected`, async () => {
    const same = { text: 'the very same call' };
    const o = { sub: 'looping-agent', tenant: 'loop-tenant' };
    for (let i = 0; i < LOOP_MAX; i++)
      expect((await call(replica(i).url, broker, 'text.word_count', same, o)).status).toBe(200);
    expect(outcome(await call(replica(LOOP_MAX).url, broker, 'text.word_count', same, o))).toEqual({
      status: 429,
      code: 'loop_detected',
    });
  });

  it(`concurrent bursts over both replicas meet one limit: ${PRINCIPAL_CAPACITY} of 20 calls of one principal, ${SPEND_BUDGET} of 20 units of one tenant`, async () => {
    const tally = (replies: Array<{ status: number; code: string | undefined }>) => {
      const t: Record<string, number> = {};
      for (const o of replies)
        t[`${o.status} ${o.code ?? 'ok'}`] = (t[`${o.status} ${o.code ?? 'ok'}`] ?? 0) + 1;
      return t;
    };
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(replica(i).url, broker, 'text.word_count', text(), {
          sub: 'burst-agent',
          tenant: 'burst-rate',
        }),
      ),
    );
    expect(tally(burst.map(outcome))).toEqual({
      '200 ok': PRINCIPAL_CAPACITY,
      '429 rate_limited': 20 - PRINCIPAL_CAPACITY,
    });
    const left = SPEND_WINDOW_S * 1000 - (Date.now() % (SPEND_WINDOW_S * 1000));
    if (left < 15_000) await sleep(left + 50);
    const spend = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(replica(i).url, broker, 'text.word_count', text(), {
          sub: `burst-${i}`,
          tenant: 'burst-spend',
        }),
      ),
    );
    expect(tally(spend.map(outcome))).toEqual({
      '200 ok': SPEND_BUDGET,
      '429 quota_exceeded': 20 - SPEND_BUDGET,
    });
  });

  it('every key the replicas wrote expires (no unbounded growth) and lives under the configured prefix', async () => {
    const keys = await keysWithTtl(SHARED_REDIS_URL, prefix);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k) => k.pttl <= 0)).toEqual([]);
  });
});
