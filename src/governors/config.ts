import { z } from 'zod';

/**
 * The governors' configuration, parsed once at the edge (zod `strictObject`:
 * an unknown key is an error, so a typo cannot silently switch a limit off).
 *
 * Every governor is on by default with the embedded defaults below. A
 * missing key means "the default", never "unlimited"; zero and negative
 * numbers are refused; the only way to turn a governor off is to say so:
 * `{ enabled: false }`.
 *
 * @example
 * ```ts
 * const config = governorsConfigSchema.parse({
 *   rateLimits: { principal: { capacity: 20, refillPerSecond: 5 }, tool: { enabled: false } },
 *   spend: { budget: 500, windowSeconds: 86_400 },
 * });
 * ```
 */

const positiveInt = z.int().positive().max(Number.MAX_SAFE_INTEGER);
const positiveNumber = z.number().positive().finite();
const off = z.strictObject({ enabled: z.literal(false) });

function bucket(defaults: { capacity: number; refillPerSecond: number }) {
  return z
    .union([
      off,
      z.strictObject({
        enabled: z.literal(true).default(true),
        /** How many calls may burst. */
        capacity: positiveInt.default(defaults.capacity),
        /** Sustained calls per second. */
        refillPerSecond: positiveNumber.default(defaults.refillPerSecond),
      }),
    ])
    .prefault({});
}

export const GOVERNOR_DEFAULTS = {
  principal: { capacity: 100, refillPerSecond: 50 },
  tool: { capacity: 400, refillPerSecond: 200 },
  tenant: { capacity: 1000, refillPerSecond: 500 },
  spend: { budget: 10_000, windowSeconds: 3600 },
  loopGuard: { maxRepeats: 20, windowSeconds: 60 },
  concurrency: { maxConcurrent: 8, perTenantConcurrent: 4, maxQueuedPerTenant: 64 },
  sessions: { budget: 1000, maxCalls: 500, windowSeconds: 3600 },
  breaker: { maxFailures: 10, windowSeconds: 300 },
} as const;

export const governorsConfigSchema = z
  .strictObject({
    /** Token buckets; each call takes one token from each bucket that is on. */
    rateLimits: z
      .strictObject({
        /** Per principal (the claim's `sub`) within its tenant. */
        principal: bucket(GOVERNOR_DEFAULTS.principal),
        /** Per tool within a tenant. */
        tool: bucket(GOVERNOR_DEFAULTS.tool),
        /** Per tenant, all tools and principals together. */
        tenant: bucket(GOVERNOR_DEFAULTS.tenant),
      })
      .prefault({}),
    /** Each call charges its manifest `cost` to the tenant's budget for the current fixed window. */
    spend: z
      .union([
        off,
        z.strictObject({
          enabled: z.literal(true).default(true),
          budget: positiveInt.default(GOVERNOR_DEFAULTS.spend.budget),
          /** Window length; windows are aligned to the epoch so every replica agrees on them. */
          windowSeconds: positiveInt.default(GOVERNOR_DEFAULTS.spend.windowSeconds),
        }),
      ])
      .prefault({}),
    /**
     * Circuit breaker for runaway agents: the same principal calling the same
     * tool with the same args hash more than `maxRepeats` times within
     * `windowSeconds` (sliding) is refused with `loop_detected`.
     */
    loopGuard: z
      .union([
        off,
        z.strictObject({
          enabled: z.literal(true).default(true),
          maxRepeats: positiveInt.default(GOVERNOR_DEFAULTS.loopGuard.maxRepeats),
          windowSeconds: positiveInt.default(GOVERNOR_DEFAULTS.loopGuard.windowSeconds),
        }),
      ])
      .prefault({}),
    /**
     * Per session (the claim's `sid`, within its tenant): the spend and the
     * number of calls allowed in a fixed window. Calls without a session are
     * governed by the tenant limits alone.
     */
    sessions: z
      .union([
        off,
        z.strictObject({
          enabled: z.literal(true).default(true),
          budget: positiveInt.default(GOVERNOR_DEFAULTS.sessions.budget),
          maxCalls: positiveInt.default(GOVERNOR_DEFAULTS.sessions.maxCalls),
          windowSeconds: positiveInt.default(GOVERNOR_DEFAULTS.sessions.windowSeconds),
        }),
      ])
      .prefault({}),
    /**
     * Circuit breaker per session: after `maxFailures` refusals or failures
     * within `windowSeconds` (sliding) the session is paused (`session_paused`)
     * until a human resumes it (`toolcage sessions resume ID`).
     */
    breaker: z
      .union([
        off,
        z.strictObject({
          enabled: z.literal(true).default(true),
          maxFailures: positiveInt.default(GOVERNOR_DEFAULTS.breaker.maxFailures),
          windowSeconds: positiveInt.default(GOVERNOR_DEFAULTS.breaker.windowSeconds),
        }),
      ])
      .prefault({}),
    /** Runs at once: a global cap, a per-tenant cap under it, and a bounded wait queue per tenant. */
    concurrency: z
      .union([
        off,
        z
          .strictObject({
            enabled: z.literal(true).default(true),
            maxConcurrent: positiveInt.default(GOVERNOR_DEFAULTS.concurrency.maxConcurrent),
            perTenantConcurrent: positiveInt.default(
              GOVERNOR_DEFAULTS.concurrency.perTenantConcurrent,
            ),
            maxQueuedPerTenant: positiveInt.default(
              GOVERNOR_DEFAULTS.concurrency.maxQueuedPerTenant,
            ),
          })
          .refine((c) => c.perTenantConcurrent <= c.maxConcurrent, {
            message: 'perTenantConcurrent must be at most maxConcurrent',
            path: ['perTenantConcurrent'],
          }),
      ])
      .prefault({}),
  })
  .prefault({});

/** What a config file may say (every key optional). */
export type GovernorsConfigInput = NonNullable<z.input<typeof governorsConfigSchema>>;
/** The parsed configuration, defaults filled in. */
export type GovernorsConfig = z.output<typeof governorsConfigSchema>;

/** Parse or throw a TypeError naming every problem (a misuse of the library API, not a refusal). */
export function parseGovernorsConfig(input: unknown): GovernorsConfig {
  const result = governorsConfigSchema.safeParse(input);
  if (!result.success)
    throw new TypeError(`Invalid governors config:\n${z.prettifyError(result.error)}`);
  return result.data;
}
