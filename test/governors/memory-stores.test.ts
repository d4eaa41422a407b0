import { describe, expect, it } from 'vitest';
import {
  MemoryLoopStore,
  MemoryRateLimitStore,
  MemorySpendStore,
} from '../../src/governors/memory-stores.ts';

// A frozen clock: every call gets its time explicitly.
const T0 = 1_800_000_000_000;

describe('MemoryRateLimitStore (token bucket)', () => {
  const rule = { capacity: 3, refillPerSecond: 2 };

  it('allows exactly `capacity` calls at once, then refuses with the time until one token is back', async () => {
    const store = new MemoryRateLimitStore();
    for (let i = 0; i < 3; i++)
      expect(await store.take('k', rule, T0)).toEqual({ allowed: true, retryAfterSeconds: 0 });
    expect(await store.take('k', rule, T0)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('refills at refillPerSecond: one token after 500 ms at 2/s, not before', async () => {
    const store = new MemoryRateLimitStore();
    for (let i = 0; i < 3; i++) await store.take('k', rule, T0);
    expect((await store.take('k', rule, T0 + 499)).allowed).toBe(false);
    expect((await store.take('k', rule, T0 + 500)).allowed).toBe(true);
    expect((await store.take('k', rule, T0 + 500)).allowed).toBe(false);
  });

  it('recovers fully after capacity / refill seconds, and never holds more than capacity', async () => {
    const store = new MemoryRateLimitStore();
    for (let i = 0; i < 3; i++) await store.take('k', rule, T0);
    const later = T0 + 60_000;
    for (let i = 0; i < 3; i++) expect((await store.take('k', rule, later)).allowed).toBe(true);
    expect((await store.take('k', rule, later)).allowed).toBe(false);
  });

  it('waiting retryAfterSeconds always suffices', async () => {
    const store = new MemoryRateLimitStore();
    const slow = { capacity: 1, refillPerSecond: 0.25 };
    await store.take('k', slow, T0);
    const refused = await store.take('k', slow, T0 + 1);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 4 });
    expect((await store.take('k', slow, T0 + 1 + refused.retryAfterSeconds * 1000)).allowed).toBe(
      true,
    );
  });

  it('a clock stepping back refills nothing', async () => {
    const store = new MemoryRateLimitStore();
    for (let i = 0; i < 3; i++) await store.take('k', rule, T0);
    expect((await store.take('k', rule, T0 - 10_000)).allowed).toBe(false);
    expect((await store.take('k', rule, T0 + 499)).allowed).toBe(false);
  });

  it('keeps keys apart, including prototype names', async () => {
    const store = new MemoryRateLimitStore();
    const one = { capacity: 1, refillPerSecond: 1 };
    for (const key of ['__proto__', 'constructor', 'hasOwnProperty', 'a'])
      expect((await store.take(key, one, T0)).allowed).toBe(true);
    for (const key of ['__proto__', 'constructor', 'hasOwnProperty', 'a'])
      expect((await store.take(key, one, T0)).allowed).toBe(false);
  });

  it('forgets buckets that have refilled, so memory stays bounded', async () => {
    const store = new MemoryRateLimitStore();
    for (let i = 0; i < 5000; i++) await store.take(`k${i}`, rule, T0);
    expect(store.size).toBe(5000);
    for (let i = 0; i < 5000; i++) await store.take(`later${i}`, rule, T0 + 10_000);
    expect(store.size).toBeLessThanOrEqual(5000);
  });

  it('refuses misuse with a TypeError', async () => {
    const store = new MemoryRateLimitStore();
    await expect(store.take('k', { capacity: 0, refillPerSecond: 1 }, T0)).rejects.toThrow(
      TypeError,
    );
    await expect(store.take('k', { capacity: 1, refillPerSecond: 0 }, T0)).rejects.toThrow(
      /refillPerSecond/,
    );
    await expect(store.take('k', rule, T0, 4)).rejects.toThrow(/at most the bucket capacity/);
    await expect(store.take('k', rule, Number.NaN)).rejects.toThrow(/nowMs/);
  });
});

describe('MemorySpendStore (fixed window budget)', () => {
  const windowSeconds = 60;
  const start = Math.floor(T0 / 60_000) * 60_000;

  it('charges up to the budget exactly, refuses the call that would pass it without charging it', async () => {
    const store = new MemorySpendStore();
    expect(await store.charge('t', 2, 5, windowSeconds, start)).toMatchObject({
      allowed: true,
      spent: 2,
    });
    expect(await store.charge('t', 2, 5, windowSeconds, start)).toMatchObject({
      allowed: true,
      spent: 4,
    });
    expect(await store.charge('t', 2, 5, windowSeconds, start)).toMatchObject({
      allowed: false,
      spent: 4,
    });
    expect(await store.charge('t', 1, 5, windowSeconds, start)).toMatchObject({
      allowed: true,
      spent: 5,
    });
    expect(await store.charge('t', 1, 5, windowSeconds, start)).toMatchObject({
      allowed: false,
      spent: 5,
    });
  });

  it('says how long until the window resets, and resets at the window edge', async () => {
    const store = new MemorySpendStore();
    await store.charge('t', 5, 5, windowSeconds, start);
    expect(await store.charge('t', 1, 5, windowSeconds, start + 15_000)).toEqual({
      allowed: false,
      spent: 5,
      retryAfterSeconds: 45,
    });
    expect((await store.charge('t', 1, 5, windowSeconds, start + 59_999)).allowed).toBe(false);
    expect(await store.charge('t', 1, 5, windowSeconds, start + 60_000)).toMatchObject({
      allowed: true,
      spent: 1,
    });
  });

  it('a zero-cost call is allowed even on a spent budget', async () => {
    const store = new MemorySpendStore();
    await store.charge('t', 5, 5, windowSeconds, start);
    expect((await store.charge('t', 0, 5, windowSeconds, start)).allowed).toBe(true);
  });

  it('refuses misuse with a TypeError', async () => {
    const store = new MemorySpendStore();
    await expect(store.charge('t', -1, 5, 60, start)).rejects.toThrow(TypeError);
    await expect(store.charge('t', 1, 0, 60, start)).rejects.toThrow(/budget/);
    await expect(store.charge('t', 1, 5, 0, start)).rejects.toThrow(/windowSeconds/);
  });
});

describe('MemoryLoopStore (sliding window)', () => {
  it('allows maxRepeats identical calls in the window and refuses the next', async () => {
    const store = new MemoryLoopStore();
    for (let i = 0; i < 3; i++)
      expect(await store.hit('c', 3, 10, T0 + i * 1000)).toMatchObject({
        allowed: true,
        count: i + 1,
      });
    expect(await store.hit('c', 3, 10, T0 + 3000)).toEqual({
      allowed: false,
      count: 3,
      retryAfterSeconds: 7,
    });
  });

  it('slides: each call leaves the window windowSeconds after it was made', async () => {
    const store = new MemoryLoopStore();
    for (let i = 0; i < 3; i++) await store.hit('c', 3, 10, T0 + i * 1000);
    expect((await store.hit('c', 3, 10, T0 + 9999)).allowed).toBe(false);
    expect((await store.hit('c', 3, 10, T0 + 10_000)).allowed).toBe(true);
    expect((await store.hit('c', 3, 10, T0 + 10_500)).allowed).toBe(false);
    expect((await store.hit('c', 3, 10, T0 + 11_000)).allowed).toBe(true);
  });

  it('refused calls are not counted, so waiting retryAfterSeconds suffices', async () => {
    const store = new MemoryLoopStore();
    for (let i = 0; i < 2; i++) await store.hit('c', 2, 5, T0);
    let last = { allowed: true, retryAfterSeconds: 0 };
    for (let i = 0; i < 10; i++) last = await store.hit('c', 2, 5, T0 + 100);
    expect(last).toMatchObject({ allowed: false, retryAfterSeconds: 5 });
    expect((await store.hit('c', 2, 5, T0 + 100 + 5000)).allowed).toBe(true);
  });

  it('counts keys separately', async () => {
    const store = new MemoryLoopStore();
    await store.hit('a', 1, 10, T0);
    expect((await store.hit('a', 1, 10, T0)).allowed).toBe(false);
    expect((await store.hit('b', 1, 10, T0)).allowed).toBe(true);
    expect((await store.hit('__proto__', 1, 10, T0)).allowed).toBe(true);
  });
});
