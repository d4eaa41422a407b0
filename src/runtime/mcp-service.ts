import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { LoadedConfig } from '../config/load.ts';
import { recordDecision, type AuditSink } from '../audit/audit.ts';
import { loadPolicy } from '../broker/policy.ts';
import type { Registry } from '../registry/registry.ts';
import { createRunner, loadRegistry, type Runner } from './runner.ts';
import { createBrokerRuntime, type BrokerRuntime } from './broker.ts';
import { RegistryReloader, auditedSwap } from './reload.ts';
import type { McpSessions } from '../mcp/sessions.ts';
import { BrokerClaimProvider, type Principal } from '../mcp/claim-provider.ts';
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
}

/**
 * `toolcage mcp` behind its transports: one runner client, one broker, one
 * claim provider, and every connected MCP session's server, so that a
 * registry reload reaches them all with `notifications/tools/list_changed`.
 */
export class ToolcageMcpService implements McpSessions {
  readonly runner: RunnerClient;
  readonly claims: BrokerClaimProvider;
  readonly #loaded: LoadedConfig;
  readonly #local: Runner | undefined;
  readonly #broker: BrokerRuntime;
  readonly #reloader: RegistryReloader;
  readonly #sessions = new Set<ToolcageTools>();
  #transport: 'stdio' | 'http' | undefined;
  #closing: Promise<void> | undefined;

  private constructor(init: {
    loaded: LoadedConfig;
    runner: RunnerClient;
    local: Runner | undefined;
    broker: BrokerRuntime;
    reloader: RegistryReloader;
    claims: BrokerClaimProvider;
  }) {
    this.#loaded = init.loaded;
    this.runner = init.runner;
    this.#local = init.local;
    this.#broker = init.broker;
    this.#reloader = init.reloader;
    this.claims = init.claims;
    // Every session hears of a reload that changed what is served.
    this.#reloader.onChange(async () => {
      await Promise.all([...this.#sessions].map((s) => s.notifyToolsChanged()));
    });
  }

  static async create(
    loaded: LoadedConfig,
    options: McpServiceOptions = {},
  ): Promise<ToolcageMcpService> {
    const log = options.log ?? ((line: string) => process.stderr.write(`toolcage mcp: ${line}\n`));
    const runnerUrl = options.runnerUrl ?? loaded.config.mcp.runnerUrl;
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
    const local = await createRunner(loaded, {
      // The configured sink, except that stdout (the stdio protocol stream) becomes stderr.
      ...(options.audit
        ? { audit: options.audit }
        : { auditService: 'mcp', auditStdoutTo: 'stderr' as const }),
      log,
      ...(options.backends ? { backends: options.backends } : {}),
    });
    try {
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
      });
    } catch (err) {
      await local.close();
      throw err;
    }
  }

  /** The trail this service records to (its `mcp` chain). */
  get audit(): AuditSink {
    return this.#broker.audit;
  }

  /** The broker policy in effect (read at start). */
  get policy(): BrokerRuntime['policy'] {
    return this.#broker.policy;
  }

  /** The config's local principal (stdio): `subject`, `tenant`, and the roles the policy's `principals` give it. */
  localPrincipal(): Principal {
    const { subject, tenant } = this.#loaded.config;
    const policy = loadPolicy(this.#loaded.path(this.#loaded.config.broker.policy));
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
      withheld: () => this.#reloader.withheld(),
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
      withheld: () => this.#reloader.withheld(),
    });
  }

  /** Reloads the registry now (the runner's reload policy, src/runtime/reload.ts); resolves to whether the tools changed. */
  reload(): Promise<boolean> {
    return this.#reloader.reload();
  }

  /** Reloads when the lock file changes. */
  watchLock(debounceMs = 150): void {
    this.#reloader.watch(debounceMs);
  }

  /**
   * Records `service_started` once the transport serves (`stdio` or `http`);
   * `close()` records `service_stopped` before it seals the trail.
   */
  async started(transport: 'stdio' | 'http'): Promise<void> {
    this.#transport = transport;
    await recordDecision(this.#broker.audit, {
      kind: 'service_started',
      service: 'mcp',
      transport,
    });
  }

  /** Idempotent: a signal and the end of the transport may both close the service. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#reloader.close();
      if (this.#transport)
        await recordDecision(this.#broker.audit, {
          kind: 'service_stopped',
          service: 'mcp',
          transport: this.#transport,
        }).catch(() => {});
      await this.#broker.close();
      await this.#local?.close();
    })();
    return this.#closing;
  }
}
