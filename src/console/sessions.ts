import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ExpiringMap } from '../governors/expiring-map.ts';
import type { Principal } from '../identity/principal.ts';
import type { ConsoleSessionRecord, ConsoleSessionStore } from '../ports/stores.ts';

export type { ConsoleSessionRecord, ConsoleSessionStore } from '../ports/stores.ts';

export interface ConsoleSession {
  /** The cookie's value: known to the browser and this request only, never stored. */
  id: string;
  principal: Principal;
  /** Synchronizer token: every state-changing request must carry it. */
  csrf: string;
  lastSeenMs: number;
  /** The credential's own expiry (an identity token's `exp`), if it has one. */
  notAfterMs?: number | undefined;
}

/** The store key of a cookie id: a digest, so a copy of the store opens no session. */
function storeKey(id: string): string {
  return createHash('sha256').update(`toolcage-console-session\0${id}`).digest('base64url');
}

/**
 * The CSRF token of a session, derived from its id (one-way): nothing more to
 * store, the same on every replica, and the token in a page reveals no id.
 */
function csrfOf(id: string): string {
  return createHash('sha256').update(`toolcage-console-csrf\0${id}`).digest('base64url');
}

const ID = /^[A-Za-z0-9_-]{43}$/;

/**
 * Console sign-in sessions: an opaque random id (256 bits) in an HttpOnly
 * cookie maps to the principal the sign-in verified. Records live in a
 * `ConsoleSessionStore` (the state store: SQLite for one machine, Redis for
 * replicas), keyed by a digest of the id, so a cookie from replica A works on
 * replica B, and a stolen copy of the store holds no usable id. A session
 * ends after `idleMs` without a request (its record expires then), at the
 * credential's own expiry, or at sign-out.
 */
export class ConsoleSessions {
  readonly #store: ConsoleSessionStore;
  readonly #idleMs: number;
  readonly #now: () => number;

  constructor(o: { idleMs: number; store?: ConsoleSessionStore; now?: () => number }) {
    if (!Number.isSafeInteger(o.idleMs) || o.idleMs <= 0)
      throw new TypeError(`Expected idleMs to be a positive integer, got ${String(o.idleMs)}`);
    this.#idleMs = o.idleMs;
    this.#now = o.now ?? Date.now;
    this.#store = o.store ?? new MemoryConsoleSessionStore();
  }

  #expiry(lastSeenMs: number, notAfterMs: number | undefined): number {
    const idle = lastSeenMs + this.#idleMs;
    return notAfterMs === undefined ? idle : Math.min(idle, notAfterMs);
  }

  async create(principal: Principal, notAfterMs?: number): Promise<ConsoleSession> {
    const id = randomBytes(32).toString('base64url');
    const now = this.#now();
    const record: ConsoleSessionRecord = {
      principal: {
        subject: principal.subject,
        roles: [...principal.roles],
        tenants: [...principal.tenants],
        defaultTenant: principal.defaultTenant,
        via: principal.via,
      },
      createdAtMs: now,
      lastSeenMs: now,
      ...(notAfterMs !== undefined ? { notAfterMs } : {}),
    };
    await this.#store.put(storeKey(id), record, this.#expiry(now, notAfterMs));
    return { id, principal: record.principal, csrf: csrfOf(id), lastSeenMs: now, notAfterMs };
  }

  /** The live session for a cookie value, touched; undefined when unknown, idle too long or past its credential. */
  async get(id: string | undefined): Promise<ConsoleSession | undefined> {
    if (!id || !ID.test(id)) return undefined;
    const key = storeKey(id);
    const now = this.#now();
    const r = await this.#store.get(key, now);
    if (!r) return undefined;
    if (now - r.lastSeenMs > this.#idleMs || (r.notAfterMs !== undefined && now >= r.notAfterMs)) {
      await this.#store.delete(key);
      return undefined;
    }
    // Sliding idle expiry; at most one write a second per session (the inbox polls every 2 s).
    if (now - r.lastSeenMs >= 1000)
      await this.#store.put(key, { ...r, lastSeenMs: now }, this.#expiry(now, r.notAfterMs));
    return {
      id,
      principal: r.principal,
      csrf: csrfOf(id),
      lastSeenMs: now,
      notAfterMs: r.notAfterMs,
    };
  }

  async end(id: string | undefined): Promise<void> {
    if (id && ID.test(id)) await this.#store.delete(storeKey(id));
  }

  static csrfMatches(session: ConsoleSession, token: unknown): boolean {
    if (typeof token !== 'string') return false;
    const a = Buffer.from(session.csrf);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/** In this process's memory (the library and tests): bounded, each record dropped at its expiry. */
export class MemoryConsoleSessionStore implements ConsoleSessionStore {
  readonly #records = new ExpiringMap<ConsoleSessionRecord>();
  readonly #max: number;

  constructor(o: { maxSessions?: number } = {}) {
    this.#max = o.maxSessions ?? 10_000;
  }

  async put(key: string, record: ConsoleSessionRecord, expiresAtMs: number): Promise<void> {
    const now = Date.now();
    if (this.#records.size >= this.#max) this.#records.sweep(now);
    // Still full of live sessions: the oldest sign-in gives way.
    while (this.#records.size >= this.#max) {
      const oldest = this.#records.live(now).next().value;
      if (!oldest) break;
      this.#records.delete(oldest[0]);
    }
    this.#records.set(key, structuredClone(record), expiresAtMs, now);
  }

  async get(key: string, nowMs: number): Promise<ConsoleSessionRecord | undefined> {
    const r = this.#records.get(key, nowMs);
    return r && structuredClone(r);
  }

  async delete(key: string): Promise<void> {
    this.#records.delete(key);
  }
}
