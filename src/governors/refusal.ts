/** The refusal a person reads when a governor says no: which limit, how far along, when to retry. */
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { GovernorVerdict } from '../ports/governors.ts';
import type { GovernorsConfig } from './config.ts';

const LIMIT_WORDING: Record<'principal' | 'tool' | 'tenant', string> = {
  principal: 'this principal',
  tool: 'this tool in this tenant',
  tenant: 'this tenant',
};

/** The contract error (`loop_detected`, `rate_limited`, `quota_exceeded`) for a refused plan, worded from the config that refused it. */
export function governorRefusal(
  config: GovernorsConfig,
  verdict: Exclude<GovernorVerdict, { refused: undefined }>,
  cost: number,
): ToolcageError {
  const { loopGuard, rateLimits, spend } = config;
  if (verdict.refused === 'loop') {
    const g = loopGuard as { maxRepeats: number; windowSeconds: number };
    return new ToolcageError('loop_detected', {
      message:
        `Loop guard: this principal made the same call (same tool, same arguments) more than ${g.maxRepeats} times ` +
        `within ${g.windowSeconds} s. Change the arguments, or wait ${verdict.retryAfterSeconds} s before repeating it.`,
      retryAfterSeconds: verdict.retryAfterSeconds,
      details: { limit: 'loop', maxRepeats: g.maxRepeats, windowSeconds: g.windowSeconds },
    });
  }
  if (verdict.refused === 'session_spend' || verdict.refused === 'session_calls') {
    const g = config.sessions as { budget: number; maxCalls: number; windowSeconds: number };
    const calls = verdict.refused === 'session_calls';
    return new ToolcageError('quota_exceeded', {
      message: calls
        ? `The session call cap is reached: ${verdict.spent} of ${g.maxCalls} calls in this ${g.windowSeconds} s window. Retry after ${verdict.retryAfterSeconds} s, or start a new session with a human's consent.`
        : `The session spend cap is reached: ${verdict.spent} of ${g.budget} units spent in this ${g.windowSeconds} s window, and this call costs ${cost}. Retry after ${verdict.retryAfterSeconds} s.`,
      retryAfterSeconds: verdict.retryAfterSeconds,
      details: {
        limit: verdict.refused,
        budget: calls ? g.maxCalls : g.budget,
        spent: verdict.spent,
        cost: calls ? 1 : cost,
        windowSeconds: g.windowSeconds,
      },
    });
  }
  if (verdict.refused === 'spend') {
    const g = spend as { budget: number; windowSeconds: number };
    return new ToolcageError('quota_exceeded', {
      message:
        `The tenant spend cap is reached: ${verdict.spent} of ${g.budget} units spent in this ${g.windowSeconds} s window, ` +
        `and this call costs ${cost}. Retry after ${verdict.retryAfterSeconds} s when the window resets, or ask the operator to raise the cap.`,
      retryAfterSeconds: verdict.retryAfterSeconds,
      details: {
        limit: 'spend',
        budget: g.budget,
        spent: verdict.spent,
        cost,
        windowSeconds: g.windowSeconds,
      },
    });
  }
  const rule = rateLimits[verdict.refused] as { capacity: number; refillPerSecond: number };
  return new ToolcageError('rate_limited', {
    message:
      `Rate limit reached for ${LIMIT_WORDING[verdict.refused]} (${rule.refillPerSecond} calls/s, bursts of ${rule.capacity}). ` +
      `Retry after ${verdict.retryAfterSeconds} s, and slow the caller down.`,
    retryAfterSeconds: verdict.retryAfterSeconds,
    details: {
      limit: verdict.refused,
      capacity: rule.capacity,
      refillPerSecond: rule.refillPerSecond,
    },
  });
}
