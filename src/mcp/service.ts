import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { LoadedConfig } from '../config/load.ts';
import type { AuditSink } from '../audit/audit.ts';
import { loadPolicy } from '../broker/policy.ts';
import { LOCK_FILE_NAME } from '../registry/lock.ts';
import type { Registry } from '../registry/registry.ts';
import { createRunner, loadRegistry, type Runner } from '../runtime/runner.ts';
import { createBrokerRuntime, type BrokerRuntime } from '../runtime/broker.ts';
import { BrokerClaimProvider, type Principal } from './claim-provider.ts';
import { registerToolcageTools, type ToolcageTools, type ToolHandlerExtra } from './delegate.ts';
import { HttpRunnerClient, InProcessRunnerClient, type RunnerClient } from './runner-client.ts';

export const MCP_SERVER_INFO = { name: 'toolcage', version: '0.1.0' } as const;

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
export class ToolcageMcpService {
  readonly runner: RunnerClient;
  readonly claims: BrokerClaimProvider;
  readonly #loaded: LoadedConfig;
  readonly #local: Runner | undefined;
  readonly #broker: BrokerRuntime;
  readonly #reloadBroker: () => Promise<void>;
  readonly #log: (line: string) => void;
  readonly #sessions = new Set<ToolcageTools>();
  #withheld: ReadonlySet<string> = new Set();
  #reloading: Promise<boolean> | undefined;
  #again = false;
  #watcher: FSWatcher | undefined;

  private constructor(init: {
    loaded: LoadedConfig;
    runner: RunnerClient;
    local: Runner | undefined;
    broker: BrokerRuntime;
    reloadBroker: () => Promise<void>;
    claims: BrokerClaimProvider;
    log: (line: string) => void;
  }) {
    this.#loaded = init.loaded;
    this.runner = init.runner;
    this.#local = init.local;
    this.#broker = init.broker;
    this.#reloadBroker = init.reloadBroker;
    this.claims = init.claims;
    this.#log = init.log;
  }

  static async create(
    loaded: LoadedConfig,
    options: McpServiceOptions = {},
  ): Promise<ToolcageMcpService> {
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const approveCommand = (id: string) =>
      `toolcage mcp approve ${id}${options.configFile ? ` --config ${options.configFile}` : ''}`;
    const runnerUrl = options.runnerUrl ?? loaded.config.mcp.runnerUrl;
    if (runnerUrl) {
      // The broker still needs the manifests (risk, scopes): it reads the same signed lock.
      let registry: Registry = await loadRegistry(loaded);
      const broker = await createBrokerRuntime(loaded, { registry: () => registry });
      const claims = new BrokerClaimProvider({ broker: broker.broker, approveCommand });
      const runner = new HttpRunnerClient({ baseUrl: runnerUrl });
      return new ToolcageMcpService({
        loaded,
        runner,
        local: undefined,
        broker,
        claims,
        log,
        reloadBroker: async () => {
          registry = await loadRegistry(loaded);
        },
      });
    }
    const local = await createRunner(loaded, {
      // The configured sink, except that stdout (the stdio protocol stream) becomes stderr.
      ...(options.audit
        ? { audit: options.audit }
        : { auditService: 'mcp', auditStdoutTo: 'stderr' as const }),
      ...(options.backends ? { backends: options.backends } : {}),
    });
    try {
      // One registry for both: a reload swaps what the broker mints for and what the runner runs at once.
      const broker = await createBrokerRuntime(loaded, {
        stores: local.stores,
        registry: local.registry,
        audit: local.audit,
      });
      const claims = new BrokerClaimProvider({ broker: broker.broker, approveCommand });
      return new ToolcageMcpService({
        loaded,
        runner: new InProcessRunnerClient(local.executor),
        local,
        broker,
        claims,
        log,
        reloadBroker: async () => {},
      });
    } catch (err) {
      await local.close();
      throw err;
    }
  }

  /** The config's local principal (stdio): `subject`, `tenant`, and the roles the policy's `principals` give it. */
  localPrincipal(): Principal {
    const { subject, tenant } = this.#loaded.config;
    const policy = loadPolicy(this.#loaded.path(this.#loaded.config.broker.policy));
    return {
      sub: subject,
      tenant,
      roles: Object.hasOwn(policy.principals, subject) ? [...policy.principals[subject]!] : [],
    };
  }

  /** A new SDK server for one MCP session, serving the registry's tools and told about registry changes. */
  createServer(principal: (extra: ToolHandlerExtra) => Principal | undefined): Server {
    const server = new Server(MCP_SERVER_INFO, {
      capabilities: { tools: { listChanged: true } },
      instructions:
        'Tools run in toolcage sandboxes under short-lived claims. A refused or failed call is an isError result whose structuredContent.error.code is the toolcage error code; approval_required names the approval request a human must approve before the same call is retried.',
    });
    const tools = registerToolcageTools(server, {
      runner: this.runner,
      claims: this.claims,
      principal,
      withheld: () => this.#withheld,
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
   * Re-reads and re-verifies the registry. When the tools changed, every
   * session gets `notifications/tools/list_changed`. When the new lock does not
   * verify, the old registry stays, but any tool whose pin differs in the new
   * lock is withheld (neither listed nor run): a tool whose pinned hash
   * changed is never served from its stale definition. Concurrent calls coalesce.
   */
  reload(): Promise<boolean> {
    if (this.#reloading) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      let changed = false;
      do {
        this.#again = false;
        changed = (await this.#reloadOnce()) || changed;
      } while (this.#again);
      return changed;
    })().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #reloadOnce(): Promise<boolean> {
    const before = await this.#fingerprint();
    let runnerChanged = false;
    try {
      if (this.#local) runnerChanged = await this.#local.reload();
      await this.#reloadBroker();
      this.#withheld = new Set();
    } catch (err) {
      this.#withheld = this.#stalePins();
      this.#log(
        `toolcage mcp: registry reload failed, keeping the verified registry${this.#withheld.size ? ` and withholding ${[...this.#withheld].join(', ')}` : ''}: ${(err as Error).message}`,
      );
    }
    const changed = runnerChanged || (await this.#fingerprint()) !== before;
    if (changed) await Promise.all([...this.#sessions].map((s) => s.notifyToolsChanged()));
    return changed;
  }

  async #fingerprint(): Promise<string> {
    const tools = await this.runner.listTools().catch(() => []);
    return JSON.stringify([tools.filter((t) => !this.#withheld.has(t.id)), [...this.#withheld]]);
  }

  /** Tools whose pins in the lock on disk differ from the verified registry (read only to restrict, never to load). */
  #stalePins(): Set<string> {
    const registry = this.#local?.registry() ?? undefined;
    if (!registry) return new Set();
    const all = new Set(registry.list().map((t) => t.manifest.id));
    let lock: {
      tools?: Array<{ id?: unknown; manifestSha256?: unknown; artifactSha256?: unknown }>;
    };
    try {
      lock = JSON.parse(readFileSync(this.#lockPath(), 'utf8')) as typeof lock;
    } catch {
      return all;
    }
    if (!Array.isArray(lock?.tools)) return all;
    const stale = new Set<string>();
    for (const t of registry.list()) {
      const pin = lock.tools.find((e) => e?.id === t.manifest.id);
      if (
        !pin ||
        pin.manifestSha256 !== t.manifestSha256 ||
        pin.artifactSha256 !== t.artifactSha256
      )
        stale.add(t.manifest.id);
    }
    return stale;
  }

  #lockPath(): string {
    return join(this.#loaded.path(this.#loaded.config.registry.dir), LOCK_FILE_NAME);
  }

  /** Reloads when the lock file changes (debounced: a lock is written in more than one event). */
  watchLock(debounceMs = 150): void {
    if (this.#watcher) return;
    const dir = this.#loaded.path(this.#loaded.config.registry.dir);
    let timer: NodeJS.Timeout | undefined;
    this.#watcher = watch(dir, { persistent: false }, (_event, file) => {
      if (file !== null && file !== LOCK_FILE_NAME) return;
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          void this.reload().catch((err: Error) =>
            this.#log(`toolcage mcp: reload failed: ${err.message}`),
          ),
        debounceMs,
      );
    });
    this.#watcher.on('error', (err) =>
      this.#log(`toolcage mcp: cannot watch ${dir}: ${err.message}`),
    );
  }

  async close(): Promise<void> {
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#broker.close();
    await this.#local?.close();
  }
}
