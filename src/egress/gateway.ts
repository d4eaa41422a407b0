/**
 * The egress boundary: the one place a tool's HTTP request leaves the
 * runner, for both sandboxes (JS `ctx.fetch` over the worker's IPC bridge;
 * Docker through the Unix-socket proxy). Per request, in this order:
 *
 *   parse URL → allowlist (host:port from the pinned manifest) → lane
 *   hosts are pinned to their scheme → resolve and check every address →
 *   inject the lanes bound to exactly this scheme://host:port → send to the
 *   pinned address (no redirects followed) → cap size and time → scan the
 *   whole response (status line, headers, body) for this run's credentials
 *   → apply the lane's reflection policy.
 *
 * Credentials reach the boundary as grants keyed by the run's invocation id
 * (the CredentialProvider makes them while leasing, before the run starts,
 * and revokes them on release). The sandbox never holds an `egress` lane's
 * value: it is added here, after the allowlist check, and only when the
 * connection's destination (the URL's host and port the boundary resolved
 * and connects to, not a Host header) is one of that lane's own hosts.
 */
import type { SandboxTool } from '../ports/sandbox.ts';
import { AddressPolicy, type PrivateAddressAllowance } from './address-policy.ts';
import { Allowlist, type EgressRule } from './allowlist.ts';
import { checkLaneHost } from './lane-host.ts';
import { systemResolver, type Resolver } from './outbound.ts';
import { EgressSession } from './session.ts';
import {
  DEFAULT_EGRESS_LIMITS,
  type EgressEvent,
  type EgressGrant,
  type EgressLimits,
} from './types.ts';

// The Docker backend names the session type through this module.
export type { EgressSession };

export interface EgressGatewayOptions {
  /** The tool's allowlist, from its pinned manifest; undefined or empty: `network: none`. */
  rulesFor(tool: SandboxTool): readonly EgressRule[] | undefined;
  /** Named unsafe: lets tools reach private, loopback and link-local addresses (tests on 127.0.0.1). Default false. */
  unsafeAllowPrivateAddresses?: PrivateAddressAllowance;
  /** DNS; tests inject a hostile one. Default: the system resolver. */
  resolver?: Resolver;
  limits?: Partial<EgressLimits>;
  onEvent?(event: EgressEvent): void;
  now?: () => number;
}

interface GrantRecord {
  toolId: string;
  grants: EgressGrant[];
}

export class EgressGateway {
  readonly #o: EgressGatewayOptions;
  readonly #policy: AddressPolicy;
  readonly #limits: EgressLimits;
  readonly #grants = new Map<string, GrantRecord>();

  constructor(options: EgressGatewayOptions) {
    if (typeof options?.rulesFor !== 'function')
      throw new TypeError(
        `Expected options.rulesFor to be a function, got ${typeof options?.rulesFor}`,
      );
    this.#o = options;
    this.#policy = new AddressPolicy(options.unsafeAllowPrivateAddresses ?? false);
    this.#limits = { ...DEFAULT_EGRESS_LIMITS, ...options.limits };
    for (const [k, v] of Object.entries(this.#limits)) {
      if (!Number.isInteger(v) || v <= 0)
        throw new TypeError(
          `Expected options.limits.${k} to be a positive integer, got ${String(v)}`,
        );
    }
  }

  get limits(): Readonly<EgressLimits> {
    return this.#limits;
  }

  /**
   * Registers the credentials one run's requests may carry; returns the revoke
   * function (called on lease release). A second grant for the same run is a bug.
   */
  grant(invocationId: string, toolId: string, grants: EgressGrant[]): () => void {
    if (this.#grants.has(invocationId))
      throw new Error(`egress grants for ${invocationId} already exist`);
    for (const g of grants) for (const h of g.hosts) checkLaneHost(g.lane, h);
    const record: GrantRecord = { toolId, grants: [...grants] };
    this.#grants.set(invocationId, record);
    return () => {
      if (this.#grants.get(invocationId) === record) this.#grants.delete(invocationId);
      record.grants.length = 0;
    };
  }

  /** The boundary for one run, or undefined when the tool has no egress (`network: none`). */
  open(
    request: { invocationId: string; tool: SandboxTool },
    deadlineMs: number,
  ): EgressSession | undefined {
    const rules = this.#o.rulesFor(request.tool);
    if (!rules || rules.length === 0) return undefined;
    const record = this.#grants.get(request.invocationId);
    // Grants are bound to the tool they were leased for; any other tool gets none.
    const grants = record && record.toolId === request.tool.id ? record.grants : [];
    return new EgressSession({
      invocationId: request.invocationId,
      toolId: request.tool.id,
      allowlist: new Allowlist(rules),
      grants,
      deadlineMs,
      policy: this.#policy,
      resolver: this.#o.resolver ?? systemResolver,
      limits: this.#limits,
      onEvent: this.#o.onEvent ?? (() => {}),
      now: this.#o.now ?? Date.now,
    });
  }
}
