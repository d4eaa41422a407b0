import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../identity/principal.ts';

export interface ConsoleSession {
  id: string;
  principal: Principal;
  /** Synchronizer token: every state-changing request must carry it. */
  csrf: string;
  lastSeenMs: number;
  /** The credential's own expiry (an identity token's `exp`), if it has one. */
  notAfterMs?: number | undefined;
}

/**
 * Console sessions in this process's memory: an opaque random id in an
 * HttpOnly cookie maps to the principal the sign-in verified. A session ends
 * after `idleMs` without a request, at the credential's own expiry, or at
 * sign-out. Replicas do not share sessions: an operator signs in to the
 * replica they use (a load balancer keeps them there).
 */
export class ConsoleSessions {
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #idleMs: number;
  readonly #now: () => number;
  readonly #max: number;

  constructor(o: { idleMs: number; now?: () => number; maxSessions?: number }) {
    if (!Number.isSafeInteger(o.idleMs) || o.idleMs <= 0)
      throw new TypeError(`Expected idleMs to be a positive integer, got ${String(o.idleMs)}`);
    this.#idleMs = o.idleMs;
    this.#now = o.now ?? Date.now;
    this.#max = o.maxSessions ?? 10_000;
  }

  create(principal: Principal, notAfterMs?: number): ConsoleSession {
    this.#sweep();
    while (this.#sessions.size >= this.#max)
      this.#sessions.delete(this.#sessions.keys().next().value!);
    const s: ConsoleSession = {
      id: randomBytes(32).toString('base64url'),
      principal,
      csrf: randomBytes(32).toString('base64url'),
      lastSeenMs: this.#now(),
      notAfterMs,
    };
    this.#sessions.set(s.id, s);
    return s;
  }

  /** The live session for a cookie value, touched; undefined when unknown, idle too long or past its credential. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (!id) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    const now = this.#now();
    if (now - s.lastSeenMs > this.#idleMs || (s.notAfterMs !== undefined && now >= s.notAfterMs)) {
      this.#sessions.delete(id);
      return undefined;
    }
    s.lastSeenMs = now;
    return s;
  }

  end(id: string | undefined): void {
    if (id) this.#sessions.delete(id);
  }

  static csrfMatches(session: ConsoleSession, token: unknown): boolean {
    if (typeof token !== 'string') return false;
    const a = Buffer.from(session.csrf);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, s] of this.#sessions)
      if (now - s.lastSeenMs > this.#idleMs) this.#sessions.delete(id);
  }
}
