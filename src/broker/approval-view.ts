import type { Manifest } from '../registry/manifest.ts';
import type { ApprovalRecord } from './approval-store.ts';

export const MASK = '••••••';

type Schema = Record<string, unknown>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The arguments with every value whose input-schema node says `writeOnly:
 * true` replaced by a mask. Follows `properties`, `additionalProperties`,
 * `items` and `allOf`/`anyOf`/`oneOf`; a sensitive node anywhere masks its
 * whole value. Used for every view and every notification, never for the
 * stored record or the hash.
 */
export function maskArgs(schema: unknown, value: unknown): unknown {
  if (!isObject(schema)) return value;
  const s = schema as Schema;
  if (s.writeOnly === true) return MASK;
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = s[k];
    if (Array.isArray(list)) for (const sub of list) value = maskArgs(sub, value);
  }
  if (Array.isArray(value) && s.items !== undefined) {
    return value.map((v, i) => maskArgs(Array.isArray(s.items) ? s.items[i] : s.items, v));
  }
  if (isObject(value)) {
    const props = isObject(s.properties) ? s.properties : {};
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = Object.hasOwn(props, k)
        ? maskArgs(props[k], v)
        : isObject(s.additionalProperties)
          ? maskArgs(s.additionalProperties, v)
          : v;
    }
    return out;
  }
  return value;
}

export interface ApprovalView {
  id: string;
  status: ApprovalRecord['status'];
  tool: string;
  toolVersion?: string;
  manifestSha256?: string;
  risk?: string;
  subject: string;
  tenant: string;
  /** The session the approval holds in (unless `anySession`). */
  session?: string;
  anySession?: boolean;
  /** The exact arguments, sensitive fields masked; absent for records made before arguments were stored. */
  args?: unknown;
  argsHash: string;
  requestedVia?: string;
  createdAt: string;
  expiresAt: string;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
  consoleUrl?: string;
}

/** The public shape of a request: what the HTTP API, the CLI, the console and the webhook show. */
export function approvalView(
  r: ApprovalRecord,
  o: { manifest?: Manifest | undefined; consoleUrl?: string | undefined } = {},
): ApprovalView {
  let args: unknown;
  if (r.argsJson !== undefined) {
    try {
      args = maskArgs(o.manifest?.inputSchema, JSON.parse(r.argsJson));
    } catch {
      args = undefined;
    }
  }
  return {
    id: r.id,
    status: r.status,
    tool: r.tool,
    ...(r.toolVersion ? { toolVersion: r.toolVersion } : {}),
    ...(r.manifestSha256 ? { manifestSha256: r.manifestSha256 } : {}),
    ...(r.risk ? { risk: r.risk } : {}),
    subject: r.sub,
    tenant: r.tenant,
    ...(r.session ? { session: r.session } : {}),
    ...(r.anySession ? { anySession: true } : {}),
    ...(args !== undefined ? { args } : {}),
    argsHash: r.argsHash,
    ...(r.requestedVia ? { requestedVia: r.requestedVia } : {}),
    createdAt: new Date(r.createdAtMs).toISOString(),
    expiresAt: new Date(r.expiresAtMs).toISOString(),
    ...(r.decidedBy ? { decidedBy: r.decidedBy } : {}),
    ...(r.decidedAtMs !== undefined ? { decidedAt: new Date(r.decidedAtMs).toISOString() } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(o.consoleUrl ? { consoleUrl: o.consoleUrl } : {}),
  };
}
