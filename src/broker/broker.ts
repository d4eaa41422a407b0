import { randomUUID } from 'node:crypto';
import { SignJWT, type JSONWebKeySet, type JWK } from 'jose';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { argsHash as hashArgs } from '../util/hash.ts';
import type { Registry } from '../registry/registry.ts';
import type { SigningKey } from '../claims/keys.ts';
import { consumeOutcome, type ApprovalRecord, type ApprovalStore } from './approval-store.ts';
import { decide, type Policy } from './policy.ts';

export interface BrokerOptions {
  issuer: string;
  /** The runner audience claims are minted for. */
  audience: string;
  /** Signing keys; the first signs, all are published (rotation: old keys stay until their last claim expires). */
  keys: SigningKey[];
  /** Public JWKs to publish (same order as `keys`). */
  publicJwks: JWK[];
  policy: Policy;
  registry: () => Registry;
  approvals: ApprovalStore;
  now?: () => number;
}

export interface ClaimRequest {
  tool: string;
  args: unknown;
  /** The authenticated principal. */
  sub: string;
  /** The principal's roles (from the identity token, the API key record, or the policy's principals). */
  roles: readonly string[];
  tenant: string;
  scope?: string[];
  ttlSeconds?: number;
  approvalId?: string;
  /** RFC 7638 thumbprint of the caller's DPoP key: binds the claim to it (`cnf.jkt`). */
  dpopJkt?: string;
}

export interface IssuedClaim {
  claim: string;
  expiresAt: string;
  jti: string;
}

/** Mints claims by policy, and records human approvals. */
export class Broker {
  readonly #o: BrokerOptions & { now: () => number };

  constructor(options: BrokerOptions) {
    if (!options?.keys?.length)
      throw new TypeError('Expected options.keys to hold at least one signing key');
    if (typeof options.issuer !== 'string' || !options.issuer)
      throw new TypeError(
        `Expected options.issuer to be a non-empty string, got ${String(options.issuer)}`,
      );
    if (typeof options.audience !== 'string' || !options.audience)
      throw new TypeError(
        `Expected options.audience to be a non-empty string, got ${String(options.audience)}`,
      );
    this.#o = { now: Date.now, ...options };
  }

  jwks(): JSONWebKeySet {
    return { keys: this.#o.publicJwks.map((k) => ({ ...k })) };
  }

  #tool(id: string) {
    const tool = this.#o.registry().get(id);
    if (!tool)
      throw new ToolcageError('tool_not_allowed', {
        message: `Tool "${String(id).slice(0, 200)}" is not in the registry allowlist; no claim can be minted for it.`,
      });
    return tool;
  }

  async issueClaim(req: ClaimRequest): Promise<IssuedClaim> {
    const tool = this.#tool(req.tool);
    const decision = decide(this.#o.policy, tool.manifest, req.roles, {
      ...(req.ttlSeconds !== undefined ? { ttlSeconds: req.ttlSeconds } : {}),
      ...(req.scope ? { scope: req.scope } : {}),
    });
    const argsHash = hashArgs(req.args);
    const nowMs = this.#o.now();
    if (decision.approvalRequired || req.approvalId !== undefined) {
      if (!req.approvalId) {
        throw new ToolcageError('approval_required', {
          message: `${tool.manifest.id} is ${tool.manifest.risk}-risk: a human must approve this exact call first (\`toolcage broker approve --tool ${tool.manifest.id} --args FILE --sub ${req.sub}\`), then pass --approval ID.`,
        });
      }
      const outcome = consumeOutcome(
        await this.#o.approvals.get(req.approvalId),
        { tool: tool.manifest.id, sub: req.sub, tenant: req.tenant, argsHash },
        nowMs,
      );
      if (outcome !== 'ok')
        throw new ToolcageError('approval_required', {
          message: `Approval ${req.approvalId} cannot be used for this call (${outcome}). Ask for an approval of exactly this tool, subject, tenant and arguments.`,
        });
    }
    const iat = Math.floor(nowMs / 1000);
    const jti = randomUUID();
    const key = this.#o.keys[0]!;
    const payload: Record<string, unknown> = {
      tool: tool.manifest.id,
      scope: decision.scope,
      args_hash: argsHash,
      tenant: req.tenant,
      ...(req.approvalId ? { approval_id: req.approvalId } : {}),
      ...(req.dpopJkt ? { cnf: { jkt: req.dpopJkt } } : {}),
    };
    const claim = await new SignJWT(payload)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.#o.issuer)
      .setSubject(req.sub)
      .setAudience(this.#o.audience)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + decision.ttlSeconds)
      .setJti(jti)
      .sign(key.key);
    return { claim, expiresAt: new Date((iat + decision.ttlSeconds) * 1000).toISOString(), jti };
  }

  /**
   * Records an approval for one envelope. `status: 'approved'` when a human
   * approves directly (the CLI); `'pending'` for a request awaiting a human.
   */
  async recordApproval(input: {
    tool: string;
    args: unknown;
    sub: string;
    tenant: string;
    status: 'approved' | 'pending';
    decidedBy?: string;
  }): Promise<ApprovalRecord> {
    const tool = this.#tool(input.tool);
    const nowMs = this.#o.now();
    const record: ApprovalRecord = {
      id: `apr_${randomUUID()}`,
      tool: tool.manifest.id,
      sub: input.sub,
      tenant: input.tenant,
      argsHash: hashArgs(input.args),
      status: input.status,
      createdAtMs: nowMs,
      expiresAtMs: nowMs + this.#o.policy.approvalTtlSeconds * 1000,
      ...(input.decidedBy ? { decidedBy: input.decidedBy } : {}),
    };
    await this.#o.approvals.create(record);
    return record;
  }

  async decideApproval(
    id: string,
    decision: 'approved' | 'denied',
    decidedBy: string,
  ): Promise<ApprovalRecord> {
    if (!(await this.#o.approvals.decide(id, decision, decidedBy, this.#o.now()))) {
      throw new ToolcageError('not_found', {
        message: `Approval ${id.slice(0, 100)} is unknown, expired or already decided.`,
      });
    }
    return (await this.#o.approvals.get(id))!;
  }

  getApproval(id: string): Promise<ApprovalRecord | undefined> {
    return this.#o.approvals.get(id);
  }
}
