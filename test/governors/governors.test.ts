import { describe, expect, it } from 'vitest';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';
import {
  governorsConfigSchema,
  parseGovernorsConfig,
  type GovernorsConfigInput,
} from '../../src/governors/config.ts';
import { Governors, type GovernorCheck } from '../../src/governors/governors.ts';
import { createMemoryGovernorStores } from '../../src/governors/memory-stores.ts';
import type { GovernorStores } from '../../src/ports/governors.ts';

const T0 = 1_800_000_000_000; // a multiple of 3600 s: spend windows start here
const OFF = { enabled: false } as const;

/** A call that names no time, so the governors read their own clock. */
function callWithoutNow(): GovernorCheck {
  const { nowMs: _ignored, ...rest } = call();
  return rest;
}

function call(overrides: Partial<GovernorCheck> = {}): GovernorCheck {
  return {
    principal: 'alice',
    tenant: 'acme',
    toolId: 'text.word_count',
    argsHash: 'sha256:aa',
    cost: 1,
    nowMs: T0,
    ...overrides,
  };
}

/** Only the governor under test is on. */
function only(config: GovernorsConfigInput): GovernorsConfigInput {
  return {
    rateLimits: { principal: OFF, tool: OFF, tenant: OFF, ...config.rateLimits },
    spend: config.spend ?? OFF,
    loopGuard: config.loopGuard ?? OFF,
  };
}

async function refusal(p: Promise<unknown>): Promise<ToolcageError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolcageError);
  return err as ToolcageError;
}

describe('governorsConfigSchema', () => {
  it('turns every governor on with the embedded defaults when nothing is configured', () => {
    expect(governorsConfigSchema.parse(undefined)).toEqual({
      rateLimits: {
        principal: { enabled: true, capacity: 100, refillPerSecond: 50 },
        tool: { enabled: true, capacity: 400, refillPerSecond: 200 },
        tenant: { enabled: true, capacity: 1000, refillPerSecond: 500 },
      },
      spend: { enabled: true, budget: 10_000, windowSeconds: 3600 },
      loopGuard: { enabled: true, maxRepeats: 20, windowSeconds: 60 },
      sessions: { enabled: true, budget: 1000, maxCalls: 500, windowSeconds: 3600 },
      breaker: { enabled: true, maxFailures: 10, windowSeconds: 300 },
      concurrency: {
        enabled: true,
        maxConcurrent: 8,
        perTenantConcurrent: 4,
        maxQueuedPerTenant: 64,
      },
    });
  });

  it('a missing key means the default, never unlimited; only enabled: false turns a governor off', () => {
    const config = parseGovernorsConfig({
      rateLimits: { tool: { enabled: false }, principal: { capacity: 5 } },
    });
    expect(config.rateLimits.tool).toEqual({ enabled: false });
    expect(config.rateLimits.principal).toEqual({
      enabled: true,
      capacity: 5,
      refillPerSecond: 50,
    });
    expect(config.rateLimits.tenant.enabled).toBe(true);
    expect(config.spend.enabled).toBe(true);
  });

  it.each([
    ['zero capacity', { rateLimits: { principal: { capacity: 0 } } }],
    ['zero refill', { rateLimits: { tenant: { refillPerSecond: 0 } } }],
    ['negative budget', { spend: { budget: -1 } }],
    ['zero budget (no zero-means-unlimited)', { spend: { budget: 0 } }],
    ['fractional capacity', { rateLimits: { principal: { capacity: 1.5 } } }],
    ['zero loop repeats', { loopGuard: { maxRepeats: 0 } }],
    ['infinite refill', { rateLimits: { tool: { refillPerSecond: Number.POSITIVE_INFINITY } } }],
    ['an unknown key (a typo)', { rateLimit: {} }],
    ['an unknown nested key', { spend: { budgt: 5 } }],
    ['enabled: false with settings beside it', { loopGuard: { enabled: false, maxRepeats: 3 } }],
    ['enabled as a string', { spend: { enabled: 'false' } }],
    [
      'a per-tenant concurrency above the global cap',
      { concurrency: { maxConcurrent: 2, perTenantConcurrent: 4 } },
    ],
  ])('refuses %s', (_name, input) => {
    expect(governorsConfigSchema.safeParse(input).success).toBe(false);
    expect(() => parseGovernorsConfig(input)).toThrow(TypeError);
  });

  it('the Governors constructor refuses an invalid config with a TypeError', () => {
    expect(
      () =>
        new Governors({ stores: createMemoryGovernorStores(), config: { spend: { budget: 0 } } }),
    ).toThrow(/Invalid governors config/);
  });
});

describe('Governors.check', () => {
  it('allows a call under every default limit', async () => {
    const governors = new Governors({ stores: createMemoryGovernorStores() });
    await expect(governors.check(call())).resolves.toBeUndefined();
    expect(governors.storesKind).toBe('memory');
  });

  describe.each([
    // limit, a call sharing the bucket, a call with a bucket of its own
    ['principal', { toolId: 'text.other', argsHash: 'sha256:bb' }, { principal: 'bob' }],
    ['tool', { principal: 'bob', argsHash: 'sha256:bb' }, { toolId: 'text.other' }],
    ['tenant', { principal: 'bob', toolId: 'text.other' }, { tenant: 'other' }],
  ] as const)('the %s rate limit', (limit, sameBucket, ownBucket) => {
    const config = only({ rateLimits: { [limit]: { capacity: 3, refillPerSecond: 1 } } });

    it('trips exactly at its capacity, names itself, and recovers after the retry delay', async () => {
      const governors = new Governors({ stores: createMemoryGovernorStores(), config });
      for (let i = 0; i < 3; i++) await governors.check(call());
      const err = await refusal(governors.check(call()));
      expect(err.code).toBe('rate_limited');
      expect(err.status).toBe(429);
      expect(err.retryAfterSeconds).toBe(1);
      expect(err.details).toMatchObject({ limit, capacity: 3, refillPerSecond: 1 });
      expect(err.message).toMatch(
        new RegExp(`Rate limit reached for this ${limit}.*Retry after 1 s`),
      );
      await expect(governors.check(call({ nowMs: T0 + 999 }))).rejects.toMatchObject({
        code: 'rate_limited',
      });
      await expect(governors.check(call({ nowMs: T0 + 1000 }))).resolves.toBeUndefined();
    });

    it('is keyed on its own dimension', async () => {
      const governors = new Governors({ stores: createMemoryGovernorStores(), config });
      for (let i = 0; i < 3; i++) await governors.check(call());
      await expect(governors.check(call(sameBucket))).rejects.toMatchObject({
        code: 'rate_limited',
      });
      await expect(governors.check(call(ownBucket))).resolves.toBeUndefined();
      // Another tenant never shares any bucket.
      await expect(governors.check(call({ tenant: 'other' }))).resolves.toBeUndefined();
    });
  });

  it('the spend cap trips exactly at the budget, and resets with the window', async () => {
    const governors = new Governors({
      stores: createMemoryGovernorStores(),
      config: only({ spend: { budget: 10, windowSeconds: 60 } }),
    });
    for (let i = 0; i < 3; i++) await governors.check(call({ cost: 3 }));
    const err = await refusal(governors.check(call({ cost: 3, nowMs: T0 + 20_000 })));
    expect(err.code).toBe('quota_exceeded');
    expect(err.retryAfterSeconds).toBe(40);
    expect(err.details).toMatchObject({ limit: 'spend', budget: 10, spent: 9, cost: 3 });
    expect(err.message).toMatch(/9 of 10 units.*Retry after 40 s/);
    await governors.check(call({ cost: 1 })); // exactly 10
    await expect(governors.check(call({ cost: 1 }))).rejects.toMatchObject({
      code: 'quota_exceeded',
    });
    await expect(governors.check(call({ cost: 3, nowMs: T0 + 60_000 }))).resolves.toBeUndefined();
  });

  it('the loop guard trips past maxRepeats identical calls and recovers after its window', async () => {
    const governors = new Governors({
      stores: createMemoryGovernorStores(),
      config: only({ loopGuard: { maxRepeats: 3, windowSeconds: 30 } }),
    });
    for (let i = 0; i < 3; i++) await governors.check(call({ nowMs: T0 + i }));
    const err = await refusal(governors.check(call({ nowMs: T0 + 10_000 })));
    expect(err.code).toBe('loop_detected');
    expect(err.retryAfterSeconds).toBe(20);
    expect(err.message).toMatch(
      /more than 3 times within 30 s.*Change the arguments, or wait 20 s/,
    );
    // Different arguments, tool or principal are different calls.
    await governors.check(call({ argsHash: 'sha256:bb', nowMs: T0 + 10_000 }));
    await governors.check(call({ principal: 'bob', nowMs: T0 + 10_000 }));
    await governors.check(call({ toolId: 'text.other', nowMs: T0 + 10_000 }));
    await expect(governors.check(call({ nowMs: T0 + 30_000 }))).resolves.toBeUndefined();
  });

  it('checks the loop guard first: a looping call takes no rate-limit token', async () => {
    const stores = createMemoryGovernorStores();
    const governors = new Governors({
      stores,
      config: only({
        loopGuard: { maxRepeats: 1, windowSeconds: 60 },
        rateLimits: { principal: { capacity: 2, refillPerSecond: 0.001 } },
      }),
    });
    await governors.check(call());
    for (let i = 0; i < 5; i++)
      await expect(governors.check(call())).rejects.toMatchObject({ code: 'loop_detected' });
    await expect(governors.check(call({ argsHash: 'sha256:bb' }))).resolves.toBeUndefined();
  });

  it('does not charge spend for a call a rate limit refused', async () => {
    const stores = createMemoryGovernorStores();
    const governors = new Governors({
      stores,
      config: only({
        rateLimits: { tenant: { capacity: 1, refillPerSecond: 1 } },
        spend: { budget: 2, windowSeconds: 3600 },
      }),
    });
    await governors.check(call());
    for (let i = 0; i < 5; i++)
      await expect(governors.check(call())).rejects.toMatchObject({ code: 'rate_limited' });
    await governors.check(call({ nowMs: T0 + 1000 })); // spent 2 of 2: the refused calls cost nothing
    await expect(governors.check(call({ nowMs: T0 + 2000 }))).rejects.toMatchObject({
      code: 'quota_exceeded',
    });
  });

  it('every governor off only when each says enabled: false', async () => {
    const governors = new Governors({ stores: createMemoryGovernorStores(), config: only({}) });
    for (let i = 0; i < 200; i++) await governors.check(call({ cost: 1000 }));
  });

  it('fails closed when a store fails: the error propagates and the call is not allowed', async () => {
    const stores = createMemoryGovernorStores();
    const broken: GovernorStores = {
      ...stores,
      spend: { charge: () => Promise.reject(new ToolcageError('state_unavailable')) },
    };
    const governors = new Governors({ stores: broken });
    await expect(governors.check(call())).rejects.toMatchObject({ code: 'state_unavailable' });
  });

  it('uses its clock when no nowMs is given', async () => {
    let now = T0;
    const governors = new Governors({
      stores: createMemoryGovernorStores(),
      config: only({ rateLimits: { principal: { capacity: 1, refillPerSecond: 1 } } }),
      clock: () => now,
    });
    await governors.check(callWithoutNow());
    await expect(governors.check(callWithoutNow())).rejects.toMatchObject({
      code: 'rate_limited',
    });
    now += 1000;
    await expect(governors.check(callWithoutNow())).resolves.toBeUndefined();
  });

  it('refuses misuse with a TypeError', async () => {
    const governors = new Governors({ stores: createMemoryGovernorStores() });
    await expect(governors.check(call({ cost: -1 }))).rejects.toThrow(TypeError);
    await expect(governors.check(call({ cost: 0.5 }))).rejects.toThrow(TypeError);
    await expect(governors.check(call({ tenant: '' }))).rejects.toThrow(/tenant/);
    expect(() => new Governors({} as never)).toThrow(TypeError);
  });
});
