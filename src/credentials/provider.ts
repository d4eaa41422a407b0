import type { ClaimPayload } from '../ports/claims.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { CredentialLease, CredentialProvider } from '../ports/credentials.ts';
import type { LoadedTool } from '../ports/tool.ts';
import type { RunCredential } from '../ports/sandbox.ts';
import type { EgressGateway } from '../egress/gateway.ts';
import type { EgressGrant } from '../egress/types.ts';
import type { CredentialLane, LaneCredential } from './lane.ts';

export interface LaneProviderOptions {
  /** Lanes by name (a prototype-less map: names come from manifests). */
  lanes: ReadonlyMap<string, CredentialLane>;
  /** Where `expose: egress` credentials go; without it such lanes are refused. */
  egress?: EgressGateway;
}

interface Planned {
  lane: CredentialLane;
  as: string;
  expose: 'egress' | 'file' | 'env';
  scope: string[];
}

/**
 * The runner's CredentialProvider: leases every lane a tool's manifest names,
 * for one run.
 *
 * Order matters: every check (lane configured, the claim covers the lane's
 * `requiredScopes` and the manifest's, the lane can grant some scope the
 * claim holds, egress lanes have hosts) runs for all lanes before any
 * credential is issued, so a refusal issues nothing. Then:
 * - `expose: egress` (the default): the value goes to the egress boundary as
 *   a grant for this invocation only; the sandbox never receives it;
 * - `expose: file` / `env`: the value goes into the sandbox as a RunCredential;
 * - every value is listed in `secrets` for the leak scan of output and stderr.
 * `release` revokes the grants and any revocable token; it never throws.
 */
export class LaneCredentialProvider implements CredentialProvider {
  readonly #o: LaneProviderOptions;

  constructor(options: LaneProviderOptions) {
    if (!(options?.lanes instanceof Map))
      throw new TypeError(`Expected options.lanes to be a Map, got ${typeof options?.lanes}`);
    this.#o = options;
  }

  async lease(
    claim: ClaimPayload,
    tool: LoadedTool,
    deadlineMs: number,
    invocationId: string,
  ): Promise<CredentialLease> {
    const plan = this.#plan(claim, tool);
    const issued: Array<{ p: Planned; c: LaneCredential }> = [];
    let revokeGrants: (() => void) | undefined;
    const release = async (): Promise<void> => {
      revokeGrants?.();
      await Promise.allSettled(issued.map(({ c }) => c.release?.()));
    };
    try {
      for (const p of plan) {
        const c = await p.lane.issue({
          claim,
          toolId: tool.manifest.id,
          deadlineMs,
          invocationId,
          scope: p.scope,
        });
        issued.push({ p, c });
      }
      const grants: EgressGrant[] = issued
        .filter(({ p }) => p.expose === 'egress')
        .map(({ p, c }) => ({
          lane: p.lane.name,
          hosts: p.lane.config.hosts,
          reflection: p.lane.config.reflection,
          header: p.lane.config.inject.header,
          headerValue: `${p.lane.config.inject.prefix}${c.value}`,
          secret: c.value,
        }));
      const exposed: RunCredential[] = issued
        .filter(({ p }) => p.expose !== 'egress')
        .map(({ p, c }) => ({
          lane: p.lane.name,
          as: p.as,
          value: c.value,
          expose: p.expose as 'file' | 'env',
        }));
      // Grants are registered even when every lane is exposed: the boundary then refuses to carry their values to other hosts.
      if (this.#o.egress) {
        revokeGrants = this.#o.egress.grant(invocationId, tool.manifest.id, [
          ...grants,
          ...issued
            .filter(({ p }) => p.expose !== 'egress')
            .map(({ p, c }) => ({
              lane: p.lane.name,
              hosts: [],
              header: p.lane.config.inject.header,
              headerValue: '',
              secret: c.value,
            })),
        ]);
      }
      return {
        lanes: [...new Set(plan.map((p) => p.lane.name))],
        credentials: exposed,
        secrets: issued.map(({ c }) => c.value),
        release,
      };
    } catch (err) {
      await release();
      throw err;
    }
  }

  #plan(claim: ClaimPayload, tool: LoadedTool): Planned[] {
    const m = tool.manifest;
    const granted = new Set(claim.scope);
    const plan: Planned[] = [];
    const missing = new Set<string>();
    for (const ref of m.credentials) {
      const lane = this.#o.lanes.get(ref.lane);
      if (!lane) {
        throw new ToolcageError('sandbox_unavailable', {
          message: `${m.id} uses the credential lane "${ref.lane}", which this runner does not configure. Ask the operator to add credentials.lanes.${ref.lane} to the runner's config.`,
        });
      }
      const cfg = lane.config;
      for (const s of [...cfg.requiredScopes, ...ref.scopes]) if (!granted.has(s)) missing.add(s);
      const scope = cfg.scopes.filter((s) => granted.has(s));
      if (cfg.scopes.length > 0 && scope.length === 0) for (const s of cfg.scopes) missing.add(s);
      // The lane, not the manifest, decides whether its value may enter the sandbox.
      if (!cfg.expose.includes(ref.expose))
        throw new ToolcageError('sandbox_unavailable', {
          message: `${m.id} asks for the credential lane "${ref.lane}" with expose: ${ref.expose}, which the lane does not allow (it allows ${cfg.expose.join(', ')}). Use expose: ${cfg.expose[0]} in the manifest, or ask the operator to add ${ref.expose} to credentials.lanes.${ref.lane}.expose.`,
        });
      if (ref.expose === 'egress') {
        if (cfg.hosts.length === 0)
          throw new ToolcageError('sandbox_unavailable', {
            message: `The credential lane "${ref.lane}" lists no hosts, so ${m.id} cannot use it with expose: egress. Ask the operator to set credentials.lanes.${ref.lane}.hosts.`,
          });
        if (!this.#o.egress)
          throw new ToolcageError('sandbox_unavailable', {
            message: `${m.id} needs the egress boundary for lane "${ref.lane}", and this runner has none.`,
          });
      }
      plan.push({ lane, as: ref.as, expose: ref.expose, scope });
    }
    if (missing.size > 0) {
      throw new ToolcageError('scope_insufficient', {
        message: `The claim scope lacks ${[...missing].join(', ')}, which the credential lanes of ${m.id} require.`,
        details: { missing: [...missing] },
      });
    }
    return plan;
  }
}
