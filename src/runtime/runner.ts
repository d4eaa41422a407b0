import type { LoadedConfig } from '../config/load.ts';
import { ClaimVerifier } from '../claims/verify.ts';
import { createKeyResolver } from '../claims/key-source.ts';
import { loadJwksFile } from '../claims/keys.ts';
import type { AuditSink } from '../audit/audit.ts';
import { openAuditSink } from './audit.ts';
import { Registry } from '../registry/registry.ts';
import type { ImageIdentityResolver } from '../registry/scan.ts';
import type { SandboxBackend, SandboxTool } from '../ports/sandbox.ts';
import { Governors } from '../governors/governors.ts';
import { ConcurrencyLimiter } from '../governors/concurrency.ts';
import { SessionBreaker } from '../governors/breaker.ts';
import { ToolcageExecutor } from '../executor/executor.ts';
import type { ExecutorObserver } from '../executor/observer.ts';
import type { CredentialProvider } from '../ports/credentials.ts';
import type { DpopVerifier } from '../ports/claims.ts';
import { openStateStores, type StateStores } from './state.ts';
import type { JSONWebKeySet } from 'jose';
import {
  EgressGateway,
  type EgressEvent,
  type EgressRule,
  type Resolver,
} from '../egress/index.ts';
import { buildCredentials } from './credentials.ts';
import { RegistryReloader, auditedSwap } from './reload.ts';
import { DeferredBackend } from './deferred-backend.ts';

export interface RunnerOptions {
  /** Which sandbox backends to start (the CLI starts only the one its tool needs). Default: both. */
  backends?: ReadonlyArray<'js' | 'docker'>;
  audit?: AuditSink;
  /** Names the chain of the sink opened from config when `audit` is not given (default `runner`). */
  auditService?: string;
  /** `stderr`: a stdout destination writes to stderr instead (stdio MCP owns stdout). */
  auditStdoutTo?: 'stderr';
  observer?: ExecutorObserver;
  dpop?: DpopVerifier;
  /** Overrides the provider built from `credentials` in the config. */
  credentials?: CredentialProvider;
  /** Every request through the egress boundary (hosts, lanes, sizes; never values). */
  onEgress?: (event: EgressEvent) => void;
  /** DNS for the egress boundary (tests play a hostile resolver). Default: the system's. */
  egressResolver?: Resolver;
  /** Share already-open stores (the broker and runner in one process). */
  stores?: StateStores;
  /** Where registry reloads are reported. Default: stderr. */
  log?: (line: string) => void;
  /**
   * Make the Docker backend in the background instead of before `createRunner`
   * resolves (a service listens meanwhile; see `DeferredBackend`). Docker tools
   * are then loaded with their manifests and lock pins verified but their
   * images not yet hashed (the backend checks each run's image against its pin,
   * as when the engine is down at start); once the engine answers, the registry
   * is verified again with image identities before the backend counts as ready.
   * Making it starts once `after` settles (a service: once it listens), so its
   * module loading does not hold up what comes first; not at all when `cancelled`
   * says so by then (a service stopped before it listened).
   */
  dockerInBackground?: { after: Promise<unknown>; cancelled: () => boolean };
}

export interface Runner {
  executor: ToolcageExecutor;
  registry: () => Registry;
  /** Re-reads and re-verifies the registry; keeps the old one when the new one fails (rejects). Returns whether tools changed. */
  reload(): Promise<boolean>;
  /** The reload policy (watch the lock, SIGHUP, withhold tools whose pins changed): the same for `serve` and `mcp`. */
  reloader: RegistryReloader;
  stores: StateStores;
  backends: Partial<Record<'js' | 'docker', SandboxBackend>>;
  concurrency: ConcurrencyLimiter | undefined;
  /** The egress boundary tools with `network: { egress }` go through. */
  egress: EgressGateway;
  /** The public JWKS of the runner's own minting key (`credentials.signingKey`); `{ keys: [] }` without one. For the HTTP service to publish. */
  runnerJwks(): JSONWebKeySet;
  /** The sink decisions are recorded to (the runner's own, or the one handed in). */
  audit: AuditSink;
  close(): Promise<void>;
}

/** The configured chained sink; `service` names this writer's chain (runner, mcp, cli.run). */
export function auditSinkFor(
  loaded: LoadedConfig,
  service = 'runner',
  options: { stdoutTo?: 'stderr' } = {},
): Promise<AuditSink> {
  return openAuditSink(loaded, { service, ...options });
}

export function loadRegistry(
  loaded: LoadedConfig,
  imageIdentity?: ImageIdentityResolver,
): Promise<Registry> {
  const r = loaded.config.registry;
  return Registry.load({
    dir: loaded.path(r.dir),
    insecureSkipLockSignature: r.insecureSkipLockSignature,
    ...(r.insecureSkipLockSignature ? {} : { lockKeys: loadJwksFile(loaded.path(r.publicKeys)) }),
    ...(imageIdentity ? { imageIdentity } : {}),
  });
}

/**
 * A tool's egress allowlist, from the manifest of the registry entry whose
 * pinned sandbox identity the run carries (so a reload cannot hand one
 * tool's allowlist to another).
 */
function egressRulesFrom(
  registry: () => Registry | undefined,
): (tool: SandboxTool) => EgressRule[] | undefined {
  return (tool) => {
    const entry = registry()?.get(tool.id);
    if (!entry) return undefined;
    const s = entry.sandbox;
    const same =
      s === tool ||
      (s.version === tool.version &&
        s.runtime === tool.runtime &&
        s.sourceHash === tool.sourceHash &&
        s.imageId === tool.imageId);
    const network = entry.manifest.network;
    return same && network !== 'none'
      ? network.egress.map((r) => ({ host: r.host, port: r.port }))
      : undefined;
  };
}

interface StartedBackends {
  backends: Partial<Record<'js' | 'docker', SandboxBackend>>;
  imageIdentity?: ImageIdentityResolver;
}

/** Makes the Docker backend and probes its engine; the resolver hashes images only when it answers. */
async function makeDockerBackend(
  d: LoadedConfig['config']['sandbox']['docker'],
  egress: EgressGateway,
): Promise<{ backend: SandboxBackend; imageIdentity?: ImageIdentityResolver }> {
  const docker = await import('../sandbox/docker/index.ts');
  // Tools with `network: { egress }` reach the same boundary as JS tools, through a per-call socket proxy.
  const backend = docker.createDockerBackend({
    socketPath: d.socketPath,
    pool: {
      size: d.poolSize,
      ...(d.poolMaxStarting !== undefined ? { maxStarting: d.poolMaxStarting } : {}),
    },
    runtime: d.runtime,
    egress,
  });
  if (!(await backend.health()).usable) return { backend };
  return {
    backend,
    imageIdentity: (image) => docker.imageContentIdentity(image, { socketPath: d.socketPath }),
  };
}

async function startBackends(
  loaded: LoadedConfig,
  kinds: ReadonlyArray<'js' | 'docker'>,
  egress: EgressGateway,
  docker:
    | ((
        make: () => Promise<{ backend: SandboxBackend; imageIdentity?: ImageIdentityResolver }>,
      ) => SandboxBackend)
    | undefined,
): Promise<StartedBackends> {
  const backends: Partial<Record<'js' | 'docker', SandboxBackend>> = {};
  let imageIdentity: ImageIdentityResolver | undefined;
  if (kinds.includes('js')) {
    const { createIsolatedVmBackend } = await import('../sandbox/isolated-vm/index.ts');
    backends.js = createIsolatedVmBackend({
      workers: loaded.config.sandbox.js.workers,
      maxQueueWaitMs: loaded.config.sandbox.js.maxQueueWaitMs,
      egress,
    });
  }
  const d = loaded.config.sandbox.docker;
  if (kinds.includes('docker') && d.enabled) {
    if (docker) backends.docker = docker(() => makeDockerBackend(d, egress));
    else {
      const made = await makeDockerBackend(d, egress);
      backends.docker = made.backend;
      imageIdentity = made.imageIdentity;
    }
  }
  return { backends, ...(imageIdentity ? { imageIdentity } : {}) };
}

/** Builds a runner from configuration: stores, registry, verifier, governors, backends, executor. */
export async function createRunner(
  loaded: LoadedConfig,
  options: RunnerOptions = {},
): Promise<Runner> {
  const c = loaded.config;
  let registry: Registry | undefined;
  const e = c.egress;
  const egress = new EgressGateway({
    rulesFor: egressRulesFrom(() => registry),
    unsafeAllowPrivateAddresses: e.unsafeAllowPrivateAddresses,
    limits: {
      maxResponseBytes: e.maxResponseBytes,
      maxRequestBytes: e.maxRequestBytes,
      requestTimeoutMs: e.requestTimeoutMs,
      maxRequestsPerRun: e.maxRequestsPerRun,
    },
    ...(options.egressResolver ? { resolver: options.egressResolver } : {}),
    ...(options.onEgress ? { onEvent: options.onEgress } : {}),
  });
  // Lanes are built (and the runner key read) before anything starts: a bad lane config fails start-up.
  const built = options.credentials ? undefined : await buildCredentials(loaded, egress);
  const credentials = options.credentials ?? built?.provider;
  const stores = options.stores ?? (await openStateStores(loaded));
  // In the background (a service): the Docker backend counts as made only once the registry has
  // been verified again with image identities, after the first load (which it must not overwrite).
  const log = options.log ?? ((line: string) => process.stderr.write(`toolcage: ${line}\n`));
  let firstLoaded!: (ok: boolean) => void;
  const firstLoad = new Promise<boolean>((resolve) => (firstLoaded = resolve));
  const background = options.dockerInBackground;
  const inBackground = background
    ? (make: () => Promise<{ backend: SandboxBackend; imageIdentity?: ImageIdentityResolver }>) =>
        new DeferredBackend({
          kind: 'docker',
          make: async () => {
            await background.after.catch(() => undefined);
            if (background.cancelled()) throw new Error('the runner stopped before it started');
            const docker = await make();
            if (docker.imageIdentity && (await firstLoad)) {
              imageIdentity = docker.imageIdentity;
              try {
                registry = await loadRegistry(loaded, imageIdentity);
              } catch (err) {
                // The first load stands: its docker tools' images are checked against their pins per run.
                log(
                  `the registry could not be verified with image identities: ${(err as Error).message}`,
                );
              }
            }
            return docker.backend;
          },
        })
    : undefined;
  const started = await startBackends(
    loaded,
    options.backends ?? ['js', 'docker'],
    egress,
    inBackground,
  );
  const backends = started.backends;
  let imageIdentity = started.imageIdentity;
  try {
    registry = await loadRegistry(loaded, imageIdentity);
    firstLoaded(true);
  } catch (err) {
    firstLoaded(false);
    await Promise.allSettled(Object.values(backends).map((b) => b?.dispose()));
    if (!options.stores) await stores.close();
    throw err;
  }
  const brokerKeys = c.runner.brokerKeys;
  const verifier = new ClaimVerifier({
    keys: createKeyResolver(
      'jwksFile' in brokerKeys ? { jwksFile: loaded.path(brokerKeys.jwksFile) } : brokerKeys,
    ),
    trustedIssuers: c.runner.trustedIssuers,
    audience: c.runner.audience,
    maxTtlSeconds: c.runner.maxTtlSeconds,
    clockToleranceSeconds: c.runner.clockToleranceSeconds,
  });
  const governors = new Governors({ config: c.governors, stores: stores.governors });
  const conc = c.governors.concurrency;
  const concurrency = conc.enabled
    ? new ConcurrencyLimiter({
        maxConcurrent: conc.maxConcurrent,
        perTenantConcurrent: conc.perTenantConcurrent,
        maxQueuedPerTenant: conc.maxQueuedPerTenant,
      })
    : undefined;
  const audit =
    options.audit ??
    (await auditSinkFor(loaded, options.auditService ?? 'runner', {
      ...(options.auditStdoutTo ? { stdoutTo: options.auditStdoutTo } : {}),
    }));
  const brk = c.governors.breaker;
  const sessions = brk.enabled
    ? new SessionBreaker({
        store: stores.sessions,
        rule: { maxFailures: brk.maxFailures, windowSeconds: brk.windowSeconds },
      })
    : undefined;
  // Every reload, whether it took or not, is a decision on the trail.
  const key = (r: Registry) =>
    JSON.stringify(r.list().map((t) => [t.manifest.id, t.manifestSha256, t.artifactSha256]));
  const swap = auditedSwap({
    audit,
    current: () => registry,
    swap: async () => {
      const next = await loadRegistry(loaded, imageIdentity);
      const changed = key(next) !== key(registry!);
      registry = next;
      return changed;
    },
  });
  const reloader = new RegistryReloader({
    dir: loaded.path(c.registry.dir),
    swap,
    current: () => registry,
    log,
  });
  const executor = new ToolcageExecutor({
    registry: () => registry!,
    withheld: () => reloader.withheld(),
    verifier,
    replay: stores.replay,
    approvals: stores.approvals,
    backends,
    audit,
    governors,
    admission: stores.admission,
    ...(concurrency ? { concurrency } : {}),
    ...(sessions ? { sessions } : {}),
    ...(credentials ? { credentials } : {}),
    ...(options.dpop ? { dpop: options.dpop } : {}),
    ...(options.observer ? { observer: options.observer } : {}),
    inputLimits: { maxBytes: c.runner.input.maxBytes, maxDepth: c.runner.input.maxDepth },
    storesKind: stores.kind,
  });
  return {
    executor,
    registry: () => registry!,
    reload: swap,
    reloader,
    stores,
    backends,
    concurrency,
    egress,
    runnerJwks: () => built?.runnerKey?.jwks ?? { keys: [] },
    audit,
    async close() {
      reloader.close();
      await executor.close();
      // A sink opened here is sealed here (final checkpoint); one handed in belongs to its owner.
      if (!options.audit) await audit.close?.();
      if (!options.stores) await stores.close();
    },
  };
}
