import { ToolcageError } from '../errors/toolcage-error.ts';
import { tenantKey, tenantPrefix } from './keys.ts';

import type { BreakerRule, SessionBreakerStore, SessionPause } from '../ports/stores.ts';

export type { BreakerRule, SessionBreakerStore, SessionPause } from '../ports/stores.ts';

export const sessionKey = (tenant: string, session: string): string =>
  tenantKey(tenant, 'session', session);

/** Codes that do not count: the breaker's own refusal, and our store being down. */
const NOT_COUNTED = new Set(['session_paused', 'state_unavailable']);

/**
 * The circuit breaker per session: the runner asks `check` before it spends
 * anything on a call of a session, and `record`s every refusal or failure of
 * a verified claim of a session. A paused session stays paused until a human
 * resumes it: an agent looping on failures stops burning budget.
 */
export class SessionBreaker {
  readonly #store: SessionBreakerStore;
  readonly #rule: BreakerRule;
  readonly #now: () => number;

  constructor(options: { store: SessionBreakerStore; rule: BreakerRule; now?: () => number }) {
    if (!options?.store) throw new TypeError('Expected options.store, a SessionBreakerStore');
    for (const k of ['maxFailures', 'windowSeconds'] as const)
      if (!Number.isInteger(options.rule?.[k]) || options.rule[k] <= 0)
        throw new TypeError(
          `Expected rule.${k} to be a positive integer, got ${options.rule?.[k]}`,
        );
    this.#store = options.store;
    this.#rule = options.rule;
    this.#now = options.now ?? Date.now;
  }

  async check(tenant: string, session: string): Promise<void> {
    const p = await this.#store.paused(sessionKey(tenant, session));
    if (p) throw pausedError(session, p);
  }

  async record(tenant: string, session: string, code: string): Promise<void> {
    if (NOT_COUNTED.has(code)) return;
    await this.#store.fail(sessionKey(tenant, session), this.#now(), this.#rule, code);
  }
}

export function pausedError(session: string, p: SessionPause): ToolcageError {
  return new ToolcageError('session_paused', {
    message: `Session ${session} was paused at ${new Date(p.pausedAtMs).toISOString()} after repeated refusals or failures (the last: ${p.reason}). Nothing more runs in it until a human resumes it.`,
    hint: { kind: 'resume_session', session },
    details: { session, reason: p.reason },
  });
}

/** In-memory twin (one process), for tests and the library. */
export class MemorySessionBreakerStore implements SessionBreakerStore {
  readonly #failures = new Map<string, number[]>();
  readonly #paused = new Map<string, SessionPause>();

  async paused(key: string): Promise<SessionPause | undefined> {
    return this.#paused.get(key);
  }

  async fail(key: string, nowMs: number, rule: BreakerRule, reason: string): Promise<boolean> {
    if (this.#paused.has(key)) return true;
    const since = nowMs - rule.windowSeconds * 1000;
    const list = (this.#failures.get(key) ?? []).filter((t) => t > since);
    list.push(nowMs);
    this.#failures.set(key, list);
    if (list.length < rule.maxFailures) return false;
    this.#paused.set(key, { pausedAtMs: nowMs, reason });
    return true;
  }

  async resume(key: string): Promise<boolean> {
    this.#failures.delete(key);
    return this.#paused.delete(key);
  }

  async listPaused(query: {
    tenant?: string | undefined;
    limit: number;
  }): Promise<Array<SessionPause & { key: string }>> {
    const only = query.tenant === undefined ? '{' : tenantPrefix(query.tenant);
    const out: Array<SessionPause & { key: string }> = [];
    for (const [key, p] of this.#paused)
      if (key.startsWith(only) && out.length < query.limit) out.push({ key, ...p });
    return out;
  }
}
