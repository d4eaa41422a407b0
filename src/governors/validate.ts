import type { TokenBucketRule } from '../ports/governors.ts';

/**
 * Argument checks shared by every store implementation. A bad argument is a
 * misuse of the library API, so it is a TypeError ("Expected X, got Y"),
 * never a refusal: the governors' config schema keeps these out in practice.
 */

export function assertPositive(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`Expected ${name} to be a finite number above 0, got ${String(value)}`);
  }
}

export function assertPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`Expected ${name} to be a positive integer, got ${String(value)}`);
  }
}

export function assertNonNegativeInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`Expected ${name} to be a non-negative integer, got ${String(value)}`);
  }
}

export function assertTime(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(
      `Expected ${name} to be a time in whole milliseconds since the epoch, got ${String(value)}`,
    );
  }
}

export function assertTake(rule: TokenBucketRule, nowMs: number, cost: number): void {
  assertPositiveInteger('capacity', rule.capacity);
  assertPositive('refillPerSecond', rule.refillPerSecond);
  assertTime('nowMs', nowMs);
  assertPositiveInteger('cost', cost);
  if (cost > rule.capacity)
    throw new TypeError(
      `Expected cost to be at most the bucket capacity ${rule.capacity}, got ${cost}`,
    );
}

export function assertCharge(
  cost: number,
  budget: number,
  windowSeconds: number,
  nowMs: number,
): void {
  assertNonNegativeInteger('cost', cost);
  assertPositiveInteger('budget', budget);
  assertPositiveInteger('windowSeconds', windowSeconds);
  assertTime('nowMs', nowMs);
}

export function assertHit(maxRepeats: number, windowSeconds: number, nowMs: number): void {
  assertPositiveInteger('maxRepeats', maxRepeats);
  assertPositive('windowSeconds', windowSeconds);
  assertTime('nowMs', nowMs);
}

/** The fixed window of `windowSeconds` containing `nowMs`, aligned to the epoch so that every replica agrees on it. */
export function fixedWindow(
  windowSeconds: number,
  nowMs: number,
): { startMs: number; endMs: number } {
  const windowMs = windowSeconds * 1000;
  const startMs = Math.floor(nowMs / windowMs) * windowMs;
  return { startMs, endMs: startMs + windowMs };
}

/** The snapshot's entry cap: 1000 unless a positive integer is given (at most 10 000). */
export function snapshotLimit(limit: number | undefined): number {
  if (limit === undefined) return 1000;
  if (!Number.isSafeInteger(limit) || limit <= 0)
    throw new TypeError(`Expected limit to be a positive integer, got ${String(limit)}`);
  return Math.min(limit, 10_000);
}
