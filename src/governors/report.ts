import type { GovernorStores, GovernorStateEntry } from '../ports/governors.ts';
import type { SessionBreakerStore } from '../ports/stores.ts';
import type { GovernorsConfig } from './config.ts';
import { parseTenantKey } from './keys.ts';
import { fixedWindow } from './validate.ts';

/** A token bucket below capacity (a full one is not stored, and not reported). */
export interface BucketReport {
  limit: 'principal' | 'tool' | 'tenant';
  /** The principal's or the tool's id; absent for the tenant bucket. */
  id?: string;
  /** Tokens now, after refilling since the last call (two decimals). */
  tokens: number;
  capacity: number;
  refillPerSecond: number;
  /** When the bucket is full again if nothing else is taken. */
  fullAt: string;
}

export interface WindowReport {
  spent: number;
  budget: number;
  windowSeconds: number;
  resetsAt: string;
}

export interface SessionCapReport {
  session: string;
  spend?: WindowReport;
  calls?: WindowReport;
}

export interface LoopReport {
  principal: string;
  tool: string;
  argsHash: string;
  /** Identical calls within the sliding window now. */
  count: number;
  maxRepeats: number;
  windowSeconds: number;
  /** When the oldest of them leaves the window. */
  clearsAt: string;
}

export interface PausedReport {
  session: string;
  pausedAt: string;
  /** The error code of the failure that tripped the breaker. */
  reason: string;
}

export interface TenantGovernorReport {
  tenant: string;
  rate: BucketReport[];
  spend?: WindowReport;
  sessions: SessionCapReport[];
  loops: LoopReport[];
  paused: PausedReport[];
}

export interface GovernorReport {
  at: string;
  /** Where rate, spend and loop state come from (`memory`, `redis`) and whether it is shared by every process. */
  governors: { store: string; reportable: boolean; shared: boolean };
  /** Where paused sessions come from (`sqlite`, `redis`, `memory`), and whether the store can list them. */
  pauses: { store: string; reportable: boolean };
  tenants: TenantGovernorReport[];
  /** A store held more than the report's limit; what is shown is partial. */
  truncated: boolean;
}

export interface GovernorReportOptions {
  stores: GovernorStores;
  sessions?: SessionBreakerStore | undefined;
  /** The session breaker store's kind, for the report's `pauses.store` (default `memory`). */
  sessionsStore?: string;
  config: GovernorsConfig;
  nowMs: number;
  /** Only these tenants; undefined for every tenant. */
  tenants?: readonly string[] | undefined;
  /** Entries per store read (default 1000). */
  limit?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * What the governors hold right now, per tenant, with the limits each is held
 * to: the store's snapshot (read-only) joined with the configuration. Kinds
 * whose governor is off are left out. A store without `snapshot` reports no
 * rate, spend or loop state (`reportable: false`); paused sessions come from
 * the session breaker's store when it can list them.
 */
export async function governorReport(o: GovernorReportOptions): Promise<GovernorReport> {
  const limit = o.limit ?? 1000;
  const scopes = o.tenants === undefined ? [undefined] : [...new Set(o.tenants)];
  const byTenant = new Map<string, TenantGovernorReport>();
  const tenantOf = (tenant: string) => {
    let t = byTenant.get(tenant);
    if (!t) {
      t = { tenant, rate: [], sessions: [], loops: [], paused: [] };
      byTenant.set(tenant, t);
    }
    return t;
  };
  let truncated = false;
  for (const tenant of scopes) {
    if (o.stores.snapshot) {
      const snap = await o.stores.snapshot({ nowMs: o.nowMs, tenant, limit });
      truncated ||= snap.truncated;
      for (const e of snap.entries) addEntry(o, e, tenantOf);
    }
    if (o.sessions?.listPaused) {
      const paused = await o.sessions.listPaused({ tenant, limit });
      truncated ||= paused.length >= limit;
      for (const p of paused) {
        const k = parseTenantKey(p.key);
        if (!k || k.kind !== 'session' || k.parts.length !== 1) continue;
        tenantOf(k.tenant).paused.push({
          session: k.parts[0]!,
          pausedAt: iso(p.pausedAtMs),
          reason: p.reason,
        });
      }
    }
  }
  const tenants = [...byTenant.values()]
    .filter((t) => o.tenants === undefined || o.tenants.includes(t.tenant))
    .sort((a, b) => (a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0));
  for (const t of tenants) {
    t.rate.sort((a, b) => a.tokens / a.capacity - b.tokens / b.capacity);
    t.loops.sort((a, b) => b.count - a.count);
    t.sessions.sort((a, b) => (a.session < b.session ? -1 : 1));
  }
  return {
    at: iso(o.nowMs),
    governors: {
      store: o.stores.kind,
      reportable: o.stores.snapshot !== undefined,
      shared: o.stores.kind !== 'memory',
    },
    pauses: {
      store: o.sessionsStore ?? 'memory',
      reportable: o.sessions?.listPaused !== undefined,
    },
    tenants,
    truncated,
  };
}

function addEntry(
  o: GovernorReportOptions,
  e: GovernorStateEntry,
  tenantOf: (tenant: string) => TenantGovernorReport,
): void {
  const k = parseTenantKey(e.key);
  if (!k) return;
  const { rateLimits, spend, loopGuard, sessions } = o.config;
  const now = o.nowMs;
  if (e.kind === 'bucket' && k.kind === 'rate') {
    const limit = k.parts[0];
    if (limit !== 'principal' && limit !== 'tool' && limit !== 'tenant') return;
    const rule = rateLimits[limit];
    if (!rule.enabled) return;
    const elapsed = Math.max(0, now - e.updatedAtMs);
    const tokens = Math.min(rule.capacity, e.tokens + (elapsed * rule.refillPerSecond) / 1000);
    if (tokens >= rule.capacity) return;
    const fullAtMs =
      Math.max(now, e.updatedAtMs) + ((rule.capacity - tokens) * 1000) / rule.refillPerSecond;
    tenantOf(k.tenant).rate.push({
      limit,
      ...(limit === 'tenant' ? {} : { id: k.parts[1] ?? '' }),
      tokens: Math.floor(tokens * 100) / 100,
      capacity: rule.capacity,
      refillPerSecond: rule.refillPerSecond,
      fullAt: iso(Math.ceil(fullAtMs)),
    });
    return;
  }
  if (e.kind === 'window') {
    const cap =
      k.kind === 'spend'
        ? spend.enabled
          ? { budget: spend.budget, windowSeconds: spend.windowSeconds }
          : undefined
        : k.kind === 'session-spend' || k.kind === 'session-calls'
          ? sessions.enabled
            ? {
                budget: k.kind === 'session-calls' ? sessions.maxCalls : sessions.budget,
                windowSeconds: sessions.windowSeconds,
              }
            : undefined
          : undefined;
    if (!cap) return;
    // A counter of an earlier window (kept a moment past its end) no longer counts.
    const window = fixedWindow(cap.windowSeconds, now);
    if (e.windowStartMs !== window.startMs) return;
    const report: WindowReport = { spent: e.spent, ...cap, resetsAt: iso(window.endMs) };
    const t = tenantOf(k.tenant);
    if (k.kind === 'spend') {
      t.spend = report;
      return;
    }
    const session = k.parts[0] ?? '';
    let s = t.sessions.find((x) => x.session === session);
    if (!s) t.sessions.push((s = { session }));
    if (k.kind === 'session-calls') s.calls = report;
    else s.spend = report;
    return;
  }
  if (e.kind === 'loop' && k.kind === 'loop' && loopGuard.enabled) {
    const windowMs = loopGuard.windowSeconds * 1000;
    const live = e.hitsMs.filter((t) => t > now - windowMs).sort((a, b) => a - b);
    if (live.length === 0) return;
    const [principal = '', tool = '', argsHash = ''] = k.parts;
    tenantOf(k.tenant).loops.push({
      principal,
      tool,
      argsHash,
      count: live.length,
      maxRepeats: loopGuard.maxRepeats,
      windowSeconds: loopGuard.windowSeconds,
      clearsAt: iso(live[0]! + windowMs),
    });
  }
}

/** A report source bound to its stores and limits: what the broker's route and console page ask. */
export interface GovernorReporter {
  report(query: { tenants?: readonly string[] | undefined }): Promise<GovernorReport>;
}

export function governorReporter(
  o: Omit<GovernorReportOptions, 'nowMs' | 'tenants'> & { clock?: () => number },
): GovernorReporter {
  const clock = o.clock ?? Date.now;
  return { report: (q) => governorReport({ ...o, nowMs: clock(), tenants: q.tenants }) };
}
