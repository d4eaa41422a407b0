import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.ts';
import { loadPolicy } from '../broker/policy.ts';
import { DpopProofVerifier } from '../claims/dpop.ts';
import { createBrokerRuntime, type BrokerRuntime } from './broker.ts';
import { IdentityVerifier } from '../identity/verifier.ts';
import { buildBrokerApp } from '../http/broker-app.ts';
import { BrokerMetrics } from '../metrics/broker-metrics.ts';
import { registerConsole } from '../console/routes.ts';
import type { AuditSearchClient } from '../console/audit-client.ts';
import { listenOrExplain } from '../http/listen.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { configuredAuditFiles, trailSearch } from './audit.ts';
import { recordDecision } from '../audit/audit.ts';
import { governorReporter } from '../governors/report.ts';
import type { StateStores } from './state.ts';

export interface BrokerService {
  app: FastifyInstance;
  runtime: BrokerRuntime;
  listen(override?: { host?: string; port?: number }): Promise<string>;
  /** Readiness goes false, the server stops accepting and finishes in-flight requests, stores close. */
  shutdown(): Promise<void>;
}

/** Assembles `toolcage broker serve` from configuration. */
export async function createBrokerService(
  loaded: LoadedConfig,
  options: {
    logger?: Logger;
    /** The audit trail's search for the console's Decisions page (the audit API, once served). */
    auditSearch?: AuditSearchClient;
    /** Share the runner's stores (both in one process): then even in-memory governor state is visible. */
    stores?: StateStores;
  } = {},
): Promise<BrokerService> {
  const c = loaded.config.broker;
  const id = c.identity;
  // Deny-by-default would refuse every caller with 401: a broker nobody can use is a configuration mistake.
  if (!id && c.apiKeys.length === 0)
    throw new ToolcageError('config_invalid', {
      message: `The broker has no authentication configured, so it would refuse every caller. Set broker.identity (issuer, audience, and jwksFile or jwksUrl of your identity provider) or broker.apiKeys (the hash line of an API key) in the config file (folder ${loaded.baseDir}).`,
      hint: 'make_api_key',
    });
  // Built before the runtime opens stores, so a bad identity config leaves nothing open.
  const auth = new IdentityVerifier({
    defaultTenant: loaded.config.tenant,
    apiKeys: c.apiKeys,
    ...(id
      ? {
          tokens: {
            issuer: id.issuer,
            audience: id.audience,
            keys: id.jwksFile ? { jwksFile: loaded.path(id.jwksFile) } : { jwksUrl: id.jwksUrl! },
            rolesClaim: id.rolesClaim,
            ...(id.tenantClaim ? { tenantClaim: id.tenantClaim } : {}),
            algorithms: id.algorithms,
            clockToleranceSeconds: id.clockToleranceSeconds,
          },
        }
      : {}),
  });
  // Registry reloads (SIGHUP) are reported on the service's log once it exists.
  const reloadLog: { to?: FastifyInstance['log'] } = {};
  const runtime = await createBrokerRuntime(loaded, {
    ...(options.stores ? { stores: options.stores } : {}),
    log: (line) =>
      reloadLog.to ? reloadLog.to.info(line) : process.stderr.write(`toolcage broker: ${line}\n`),
  });
  // What the Governors page and GET /v1/governors read: this process's view of the state stores.
  const governors = governorReporter({
    stores: runtime.stores.governors,
    sessions: runtime.stores.sessions,
    sessionsStore: runtime.stores.kind,
    config: loaded.config.governors,
  });
  const app = buildBrokerApp({
    metrics: new BrokerMetrics(),
    broker: runtime.broker,
    auth,
    dpop: new DpopProofVerifier({
      replay: runtime.stores.replay,
      maxAgeSeconds: loaded.config.runner.http.dpopMaxAgeSeconds,
      clockToleranceSeconds: loaded.config.runner.http.dpopClockToleranceSeconds,
    }),
    policy: loadPolicy(loaded.path(c.policy)),
    registry: runtime.registry,
    audit: runtime.audit,
    governors,
    auditTrail: {
      files: () => configuredAuditFiles(loaded),
      readerRoles: loaded.config.audit.readerRoles,
    },
    ...(options.logger ? { logger: options.logger } : { logLevel: c.http.logLevel }),
    bodyLimitBytes: c.http.bodyLimitBytes,
    requestTimeoutMs: c.http.requestTimeoutMs,
    headersTimeoutMs: c.http.headersTimeoutMs,
    ...(c.http.publicUrl ? { publicUrl: c.http.publicUrl } : {}),
    ...(c.console.enabled
      ? {
          extend: (app: FastifyInstance, verifier: IdentityVerifier) =>
            registerConsole(app, {
              broker: runtime.broker,
              auth: verifier,
              registry: runtime.registry,
              registryDir: loaded.path(loaded.config.registry.dir),
              sessionIdleSeconds: c.console.sessionIdleSeconds,
              sessionStore: runtime.stores.consoleSessions,
              governors,
              publicUrl: c.console.publicUrl ?? c.http.publicUrl,
              audit: options.auditSearch ?? trailSearch(loaded),
            }),
        }
      : {}),
  });
  reloadLog.to = app.log;
  // Expired approval requests are marked and old ones dropped once a minute (and at start).
  const sweep = () =>
    void runtime.broker.approvals.sweep().catch((err: Error) => {
      app.log.warn({ event: 'approval_sweep_failed', err: err.message }, 'approval sweep failed');
    });
  sweep();
  const sweeper = setInterval(sweep, 60_000);
  sweeper.unref();
  let stopping: Promise<void> | undefined;
  return {
    app,
    runtime,
    async listen(override = {}) {
      const url = await listenOrExplain(app, {
        host: override.host ?? c.http.host,
        port: override.port ?? c.http.port,
        configKey: 'broker.http.host/port',
      });
      await recordDecision(runtime.audit, { kind: 'service_started', service: 'broker' });
      return url;
    },
    shutdown() {
      stopping ??= (async () => {
        app.toolcage.draining = true;
        clearInterval(sweeper);
        await app.close();
        await recordDecision(runtime.audit, { kind: 'service_stopped', service: 'broker' }).catch(
          () => {},
        );
        await runtime.close();
      })();
      return stopping;
    },
  };
}
