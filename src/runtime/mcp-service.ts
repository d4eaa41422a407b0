import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { LoadedConfig } from '../config/load.ts';
import { recordDecision, type AuditSink } from '../audit/audit.ts';
import type { Registry } from '../registry/registry.ts';
import { createRunner, loadRegistry, type Runner } from './runner.ts';
import { createBrokerRuntime, type BrokerRuntime } from './broker.ts';
import { RegistryReloader, auditedSwap } from './reload.ts';
import { openAuditSink } from './audit.ts';
import { DeferredBackend } from './deferred-backend.ts';
import type { McpSessions } from '../mcp/sessions.ts';
import { BrokerClaimProvider, type ClaimProvider, type Principal } from '../mcp/claim-provider.ts';
import { remoteBrokerFrom } from './mcp-broker.ts';
import {
  createToolcageTools,
  registerToolcageTools,
  type ToolCallContext,
  type ToolcageTools,
} from '../mcp/delegate.ts';
import {
  HttpRunnerClient,
  InProcessRunnerClient,
  type RunnerClient,
} from '../mcp/runner-client.ts';
import { MCP_INSTRUCTIONS, MCP_SERVER_INFO } from '../mcp/server-info.ts';
import { TaskService, type ApprovalState } from '../mcp/tasks/task-service.ts';
import { openTaskStore } from './task-state.ts';

export { MCP_INSTRUCTIONS, MCP_SERVER_INFO };

export interface McpServiceOptions {
  /** A remote runner (`toolcage serve`) by URL; default the in-process runner. */
  runnerUrl?: string;
  audit?: AuditSink;
  /** Where diagnostics go (never stdout: on stdio that is the protocol stream). Default stderr. */
  log?: (line: string) => void;
  /** Shown in approval messages: `toolcage mcp approve ID --config FILE`. */
  configFile?: string;
  /** Which sandbox backends the in-process runner starts. Default both. */
  backends?: ReadonlyArray<'js' | 'docker'>;
  /**
   * Make the in-process runner's Docker backend once the transport serves
   * (`started()`), as `toolcage serve` does once it listens, instead of before
   * `create` resolves: its module loading and engine probe then do not hold up
   * the first `initialize`. A Docker call made meanwhile waits for it
   * (`DeferredBackend`); `sandboxesSettled()` says when it is made. Only for a
   * caller that calls `started()` (the CLI): without it the backend is never made.
   */
  dockerAfterServing?: boolean;
}

/**
 * `toolcage mcp` behind its transports: one runner client, one broker, one
 * claim provider, and every connected MCP session's server, so that a
 * registry reload reaches them all with `notifications/tools/list_changed`.
 */
export class ToolcageMcpService implements McpSessions {
  readonly runner: RunnerClient;
  readonly claims: ClaimProvider;
  readonly #loaded: LoadedConfig;
  readonly #local: Runner | undefined;
  /** The local broker; none with a remote one (`mcp.broker`). */
  readonly #broker: BrokerRuntime | undefined;
  /** None with a remote runner and a remote broker: then this host holds no registry at all. */
  readonly #reloader: RegistryReloader | undefined;
  /** The local broker's or runner's trail; with both remote, a sink of this service's own. */
  readonly #audit: AuditSink;
  readonly #ownAudit: boolean;
  readonly #noneWithheld: ReadonlySet<string> = new Set();
  readonly #sessions = new Set<ToolcageTools>();
  /** MCP Tasks for calls waiting on an approval; none when `mcp.tasks.enabled` is false. */
  tasks: TaskService | undefined;
  #transport: 'stdio' | 'http' | undefined;
  #closing: Promise<void> | undefined;
  /** Lets a Docker backend waiting in the background be made (serving) or not at all (closed). */
  readonly #background: { serving(): void; cancel(): void } | undefined;

  private constructor(init: {
    loaded: LoadedConfig;
    runner: RunnerClient;
    local: Runner | undefined;
    broker: BrokerRuntime | undefined;
    reloader: RegistryReloader | undefined;
    claims: ClaimProvider;
    /** Only when neither a local broker nor a local runner records; `owned` when opened here. */
    audit?: { sink: AuditSink; owned: boolean };
    background?: { serving(): void; cancel(): void };
  }) {
    this.#background = init.background;
    this.#loaded = init.loaded;
    this.runner = init.runner;
    this.#local = init.local;
    this.#broker = init.broker;
    this.#reloader = init.reloader;
    this.claims = init.claims;
    const audit = init.broker?.audit ?? init.local?.audit ?? init.audit?.sink;
    if (!audit) throw new Error('ToolcageMcpService needs a trail to record to');
    this.#audit = audit;
    this.#ownAudit = !init.broker && !init.local && init.audit?.owned === true;
    // Every session hears of a reload that changed what is served.
    this.#reloader?.onChange(async () => {
      await Promise.all([...this.#sessions].map((s) => s.notifyToolsChanged()));
    });
  }

  static async create(
    loaded: LoadedConfig,
    options: McpServiceOptions = {},
  ): Promise<ToolcageMcpService> {
    const service = await ToolcageMcpService.#build(loaded, options);
    try {
      await service.#openTasks();
    } catch (err) {
      await service.close();
      throw err;
    }
    return service;
  }

  /** MCP Tasks (`mcp.tasks`) on the configured state stores, reading approvals where a local broker holds them. */
  async #openTasks(): Promise<void> {
    const cfg = this.#loaded.config.mcp.tasks;
    if (!cfg.enabled) return;
    const approvals = this.#broker?.broker.approvals;
    this.tasks = new TaskService({
      store: await openTaskStore(this.#loaded),
      audit: this.#audit,
      pollIntervalMs: cfg.pollIntervalMs,
      retentionMs: cfg.retentionSeconds * 1000,
      runLeaseMs: cfg.runLeaseSeconds * 1000,
      ...(approvals
        ? {
            approvalState: async (id: string): Promise<ApprovalState> => {
              const status = (await approvals.get(id))?.status;
              // `used`: somebody's claim consumed it; the call's own answer says what that means here.
              return status === undefined || status === 'used' ? 'unknown' : status;
            },
          }
        : {}),
    });
  }

  static async #build(
    loaded: LoadedConfig,
    options: McpServiceOptions,
  ): Promise<ToolcageMcpService> {
    const log = options.log ?? ((line: string) => process.stderr.write(`toolcage mcp: ${line}\n`));
    const runnerUrl = options.runnerUrl ?? loaded.config.mcp.runnerUrl;
    const remote = remoteBrokerFrom(loaded, runnerUrl);
    if (remote && runnerUrl) {
      // Nothing to mint and nothing to run here: no signing key, no registry.
      const runner = new HttpRunnerClient({ baseUrl: runnerUrl, dpopKey: remote.dpopKey });
      // Its own start and stop are still decisions on the trail (the broker records the mints).
      const audit = options.audit
        ? { sink: options.audit, owned: false }
        : {
            sink: await openAuditSink(loaded, { service: 'mcp', stdoutTo: 'stderr' }),
            owned: true,
          };
      return new ToolcageMcpService({
        audit,
        loaded,
        runner,
        local: undefined,
        broker: undefined,
        claims: remote.claims,
        reloader: undefined,
      });
    }
    if (runnerUrl) {
      // The broker still needs the manifests (risk, scopes): it reads the same signed lock.
      let registry: Registry = await loadRegistry(loaded);
      // This process's chain is `mcp`, as with the in-process runner.
      const broker = await createBrokerRuntime(loaded, {
        registry: () => registry,
        // stdout is the stdio protocol stream: a stdout destination writes to stderr.
        ...(options.audit
          ? { audit: options.audit }
          : { auditService: 'mcp', auditStdoutTo: 'stderr' as const }),
      });
      const claims = new BrokerClaimProvider({ broker: broker.broker });
      const runner = new HttpRunnerClient({ baseUrl: runnerUrl });
      const key = (r: Registry) =>
        JSON.stringify(r.list().map((t) => [t.manifest.id, t.manifestSha256, t.artifactSha256]));
      const reloader = new RegistryReloader({
        dir: loaded.path(loaded.config.registry.dir),
        // Every reload, whether it took or not, is a record on the trail (as in the runner).
        swap: auditedSwap({
          audit: broker.audit,
          current: () => registry,
          swap: async () => {
            const next = await loadRegistry(loaded);
            const changed = key(next) !== key(registry);
            registry = next;
            return changed;
          },
        }),
        current: () => registry,
        log,
      });
      return new ToolcageMcpService({ loaded, runner, local: undefined, broker, claims, reloader });
    }
    const background = options.dockerAfterServing ? inBackground() : undefined;
    const local = await createRunner(loaded, {
      // The configured sink, except that stdout (the stdio protocol stream) becomes stderr.
      ...(options.audit
        ? { audit: options.audit }
        : { auditService: 'mcp', auditStdoutTo: 'stderr' as const }),
      log,
      ...(options.backends ? { backends: options.backends } : {}),
      ...(background ? { dockerInBackground: background.runner } : {}),
    });
    const control = background?.control;
    try {
      if (remote)
        return new ToolcageMcpService({
          loaded,
          runner: new InProcessRunnerClient(local.executor),
          local,
          broker: undefined,
          claims: remote.claims,
          reloader: local.reloader,
          ...(control ? { background: control } : {}),
        });
      // One registry for both: a reload swaps what the broker mints for and what the runner runs at once.
      const broker = await createBrokerRuntime(loaded, {
        stores: local.stores,
        registry: local.registry,
        audit: local.audit,
      });
      const claims = new BrokerClaimProvider({ broker: broker.broker });
      return new ToolcageMcpService({
        loaded,
        runner: new InProcessRunnerClient(local.executor),
        local,
        broker,
        claims,
        reloader: local.reloader,
        ...(control ? { background: control } : {}),
      });
    } catch (err) {
      control?.cancel();
      await local.close();
      throw err;
    }
  }

  /** The trail this service records to (its `mcp` chain). */
  get audit(): AuditSink {
    return this.#audit;
  }

  /** The broker policy in effect (read at start); none when a remote broker decides. */
  get policy(): BrokerRuntime['policy'] | undefined {
    return this.#broker?.policy;
  }

  /** The config's local principal (stdio): `subject`, `tenant`, and the roles the policy's `principals` give it. */
  localPrincipal(): Principal {
    const { subject, tenant } = this.#loaded.config;
    // A remote broker's policy gives the local user its roles; this host may not even have the policy.
    if (!this.#broker)
      return { sub: subject, tenant, roles: [], via: 'stdio', rolesFromBroker: true };
    // The policy the local broker read at start: the same one that decides this principal's claims.
    const policy = this.#broker.policy;
    return {
      sub: subject,
      tenant,
      roles: Object.hasOwn(policy.principals, subject) ? [...policy.principals[subject]!] : [],
      via: 'stdio',
    };
  }

  /** A new SDK server for one MCP session, serving the registry's tools and told about registry changes. */
  createServer(principal: (extra: ToolCallContext) => Principal | undefined): Server {
    const server = new Server(MCP_SERVER_INFO, {
      capabilities: { tools: { listChanged: true } },
      instructions: MCP_INSTRUCTIONS,
    });
    const tools = registerToolcageTools(server, {
      runner: this.runner,
      claims: this.claims,
      principal,
      withheld: () => this.#reloader?.withheld() ?? this.#noneWithheld,
    });
    this.#sessions.add(tools);
    const previous = server.onclose;
    server.onclose = () => {
      this.#sessions.delete(tools);
      previous?.();
    };
    return server;
  }

  /**
   * The tools' handlers for one stateless request of the 2026-07-28 era: the
   * same runner, claims and withheld set as the sessions', and no
   * notifications (a modern client learns of changes by listing again).
   */
  requestTools(principal: (extra: ToolCallContext) => Principal | undefined): ToolcageTools {
    return createToolcageTools({
      runner: this.runner,
      claims: this.claims,
      principal,
      withheld: () => this.#reloader?.withheld() ?? this.#noneWithheld,
    });
  }

  onToolsChanged(listener: () => void | Promise<void>): () => void {
    const off = this.#reloader?.onChange(listener);
    return () => void off?.();
  }

  /** Reloads the registry now (the runner's reload policy, src/runtime/reload.ts); resolves to whether the tools changed. */
  reload(): Promise<boolean> {
    return this.#reloader?.reload() ?? Promise.resolve(false);
  }

  /** Reloads when the lock file changes. */
  watchLock(debounceMs = 150): void {
    this.#reloader?.watch(debounceMs);
  }

  /**
   * Records `service_started` once the transport serves (`stdio` or `http`);
   * `close()` records `service_stopped` before it seals the trail.
   */
  async started(transport: 'stdio' | 'http'): Promise<void> {
    this.#transport = transport;
    this.#background?.serving();
    await recordDecision(this.#audit, {
      kind: 'service_started',
      service: 'mcp',
      transport,
    });
  }

  /**
   * Resolves once the in-process runner's sandbox backends made in the
   * background (`dockerAfterServing`) have been made or have failed to; at
   * once when there are none. Never rejects.
   */
  sandboxesSettled(): Promise<void> {
    const docker = this.#local?.backends.docker;
    return docker instanceof DeferredBackend ? docker.settled() : Promise.resolve();
  }

  /** Idempotent: a signal and the end of the transport may both close the service. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#background?.cancel();
      this.#reloader?.close();
      if (this.#transport)
        await recordDecision(this.#audit, {
          kind: 'service_stopped',
          service: 'mcp',
          transport: this.#transport,
        }).catch(() => {});
      await this.tasks?.close().catch(() => {});
      await this.#broker?.close();
      await this.#local?.close();
      // The sink opened for a host with a remote runner and a remote broker is this service's own.
      if (this.#ownAudit) await this.#audit.close?.();
    })();
    return this.#closing;
  }
}

/** The gate a background Docker backend waits on: opened when the transport serves, or cancelled. */
function inBackground(): {
  runner: { after: Promise<void>; cancelled: () => boolean };
  control: { serving(): void; cancel(): void };
} {
  let open!: () => void;
  let cancelled = false;
  const after = new Promise<void>((resolve) => (open = resolve));
  return {
    runner: { after, cancelled: () => cancelled },
    control: {
      serving: open,
      cancel() {
        cancelled = true;
        open();
      },
    },
  };
}
