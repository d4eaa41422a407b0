import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import type { LoadedConfig } from '../config/load.ts';
import { publicJwkOf, signingKeyFromJwk } from '../claims/keys.ts';
import { Broker, type BrokerOptions } from '../broker/broker.ts';
import { loadPolicy, type Policy } from '../broker/policy.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { ConditionEngine } from '../policy/conditions.ts';
import { loadConditions } from '../broker/policy-set.ts';
import type { Registry } from '../registry/registry.ts';
import type { AuditSink, Origin } from '../audit/audit.ts';
import { ApprovalWebhook } from '../broker/approval-webhook.ts';
import type { ApprovalView } from '../broker/approval-view.ts';
import { loadRegistry } from './runner.ts';
import { openAuditSink } from './audit.ts';
import { RegistryReloader, auditedSwap } from './reload.ts';
import { openStateStores, type StateStores } from './state.ts';

export interface BrokerRuntime {
  broker: Broker;
  /** The parsed policy the broker decides with (its `principals` give local principals their roles). */
  policy: Policy;
  /** The Cedar conditions, when the policy names them (`conditions.cedarFile`). */
  conditions: ConditionEngine | undefined;
  stores: StateStores;
  registry: () => Registry;
  audit: AuditSink;
  /**
   * Re-reads and re-verifies the registry (SIGHUP on `toolcage broker serve`) when this runtime
   * loaded it itself; undefined when the registry was handed in (its owner reloads it).
   */
  reloader: RegistryReloader | undefined;
  close(): Promise<void>;
}

/** The approval webhook the config names (its secret from the environment), or undefined. */
function approvalWebhookFor(loaded: LoadedConfig): ApprovalWebhook | undefined {
  const w = loaded.config.broker.approvalWebhook;
  if (!w) return undefined;
  const secret = process.env[w.secretEnv];
  if (!secret || secret.length < 16)
    throw new ToolcageError('config_invalid', {
      message: `broker.approvalWebhook.secretEnv names ${w.secretEnv}, which is not set to a secret of at least 16 characters.`,
    });
  return new ApprovalWebhook({
    url: w.url,
    secret,
    timeoutMs: w.timeoutMs,
    maxAttempts: w.maxAttempts,
    backoffMs: w.backoffMs,
    onGiveUp: (i) =>
      process.stderr.write(`${JSON.stringify({ event: 'approval_webhook_failed', ...i })}\n`),
  });
}

/** A policy that names a field no tool has would silently never match: refused (at start, on reload). */
function checkConditions(conditions: ConditionEngine | undefined, registry: Registry): void {
  if (!conditions) return;
  const problems = conditions.check(registry.list().map((t) => t.manifest));
  if (problems.length > 0)
    throw new ToolcageError('config_invalid', {
      message: `The Cedar policies do not type-check against the registry: ${problems.map((p) => `${p.policyId}: ${p.message}`).join('; ')}.`,
      hint: 'check_policy',
    });
}

/** The console's external base URL: broker.console.publicUrl, else broker.http.publicUrl, else the listen address. */
export function consoleBaseUrl(loaded: LoadedConfig): string {
  const c = loaded.config.broker;
  const base = c.console.publicUrl ?? c.http.publicUrl ?? `http://${c.http.host}:${c.http.port}`;
  return base.replace(/\/+$/, '');
}

/** Builds the broker from configuration: its keys, policy, the verified registry and the approval store. */
export async function createBrokerRuntime(
  loaded: LoadedConfig,
  options: {
    stores?: StateStores;
    registry?: () => Registry;
    /** Share a sink (the broker and runner in one process); otherwise one is opened from config. */
    audit?: AuditSink;
    /** Names the chain of the sink opened here (default `broker`; the CLI uses `cli.<command>`). */
    auditService?: string;
    /** `stderr`: a stdout destination writes to stderr instead (stdio MCP owns stdout). */
    auditStdoutTo?: 'stderr';
    origin?: Origin;
    /** Where registry reloads are reported. Default: stderr. */
    log?: (line: string) => void;
    onPendingApproval?: BrokerOptions['onPendingApproval'];
  } = {},
): Promise<BrokerRuntime> {
  const c = loaded.config.broker;
  const jwks: JWK[] = c.signingKeys.map((file) => {
    try {
      return JSON.parse(readFileSync(loaded.path(file), 'utf8')) as JWK;
    } catch (cause) {
      throw new ToolcageError('config_invalid', {
        message: `Cannot read the broker signing key ${loaded.path(file)}: ${(cause as Error).message}.`,
        hint: 'generate_key',
        cause,
      });
    }
  });
  const keys = await Promise.all(
    jwks.map((j, i) => signingKeyFromJwk(j, loaded.path(c.signingKeys[i]!))),
  );
  const policy = loadPolicy(loaded.path(c.policy));
  // Before any store opens, so a bad webhook config leaves nothing open.
  const webhook = approvalWebhookFor(loaded);
  const stores = options.stores ?? (await openStateStores(loaded));
  let registryFn = options.registry;
  // Only a registry this runtime loaded itself is reloaded here (one handed in is its owner's).
  let own: Registry | undefined;
  if (!registryFn) {
    // The broker needs manifests (risk, scopes) but never runs images: docker tools are
    // verified by the runner; here their manifests are read from the signed lock's pins.
    own = await loadRegistry(loaded);
    registryFn = () => own!;
  }
  const conditions = loadConditions(policy, loaded.path(c.policy));
  checkConditions(conditions, registryFn());
  const audit =
    options.audit ??
    (await openAuditSink(loaded, {
      service: options.auditService ?? 'broker',
      ...(options.auditStdoutTo ? { stdoutTo: options.auditStdoutTo } : {}),
    }).catch(async (err: unknown) => {
      if (!options.stores) await stores.close();
      throw err;
    }));
  const broker = new Broker({
    audit,
    origin: options.origin ?? 'http',
    issuer: c.issuer,
    audience: loaded.config.runner.audience,
    keys,
    publicJwks: jwks.map((j, i) => ({ ...publicJwkOf(j), kid: keys[i]!.kid })),
    policy,
    registry: registryFn,
    approvals: stores.approvals,
    sessions: stores.sessions,
    conditions,
    approverRoles: c.approverRoles,
    viewerRoles: c.console.viewerRoles,
    ...(c.console.enabled
      ? { consoleUrl: (id: string) => `${consoleBaseUrl(loaded)}/console/approvals/${id}` }
      : {}),
    ...(options.onPendingApproval || webhook
      ? {
          onPendingApproval: (view: ApprovalView) => {
            webhook?.notify(view);
            options.onPendingApproval?.(view);
          },
        }
      : {}),
  });
  const key = (r: Registry) =>
    JSON.stringify(r.list().map((t) => [t.manifest.id, t.manifestSha256, t.artifactSha256]));
  const reloader = own
    ? new RegistryReloader({
        dir: loaded.path(loaded.config.registry.dir),
        // Every reload, whether it took or not, is a record on the trail (as in the runner).
        swap: auditedSwap({
          audit,
          current: () => own,
          swap: async () => {
            const next = await loadRegistry(loaded);
            // The same check as at start: conditions that do not type-check keep the old registry.
            checkConditions(conditions, next);
            const changed = key(next) !== key(own!);
            own = next;
            return changed;
          },
        }),
        current: () => own,
        log: options.log ?? ((line) => process.stderr.write(`toolcage broker: ${line}\n`)),
      })
    : undefined;
  return {
    broker,
    policy,
    conditions,
    stores,
    registry: registryFn,
    audit,
    reloader,
    async close() {
      reloader?.close();
      await webhook?.close();
      if (!options.audit) await audit.close?.();
      if (!options.stores) await stores.close();
    },
  };
}
