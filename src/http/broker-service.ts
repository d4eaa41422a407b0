import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { LoadedConfig } from '../config/load.ts';
import { loadPolicy } from '../broker/policy.ts';
import { DpopProofVerifier } from '../claims/dpop.ts';
import { createBrokerRuntime, type BrokerRuntime } from '../runtime/broker.ts';
import { IdentityVerifier } from '../identity/verifier.ts';
import { buildBrokerApp } from './broker-app.ts';
import { configuredAuditFiles } from '../audit/open.ts';
import { recordDecision } from '../audit/audit.ts';

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
  options: { logger?: Logger } = {},
): Promise<BrokerService> {
  const c = loaded.config.broker;
  const id = c.identity;
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
  const runtime = await createBrokerRuntime(loaded);
  const app = buildBrokerApp({
    broker: runtime.broker,
    auth,
    dpop: new DpopProofVerifier({
      replay: runtime.stores.replay,
      maxAgeSeconds: loaded.config.runner.http.dpopMaxAgeSeconds,
      clockToleranceSeconds: loaded.config.runner.http.dpopClockToleranceSeconds,
    }),
    policy: loadPolicy(loaded.path(c.policy)),
    registry: runtime.registry,
    approverRoles: c.approverRoles,
    audit: runtime.audit,
    auditTrail: {
      files: () => configuredAuditFiles(loaded),
      readerRoles: loaded.config.audit.readerRoles,
    },
    ...(options.logger ? { logger: options.logger } : { logLevel: c.http.logLevel }),
    bodyLimitBytes: c.http.bodyLimitBytes,
    requestTimeoutMs: c.http.requestTimeoutMs,
    headersTimeoutMs: c.http.headersTimeoutMs,
    ...(c.http.publicUrl ? { publicUrl: c.http.publicUrl } : {}),
  });
  let stopping: Promise<void> | undefined;
  return {
    app,
    runtime,
    async listen(override = {}) {
      await app.listen({ host: override.host ?? c.http.host, port: override.port ?? c.http.port });
      await recordDecision(runtime.audit, { kind: 'service_started', service: 'broker' });
      const addr = app.server.address();
      if (addr === null || typeof addr === 'string') return String(addr);
      return `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    },
    shutdown() {
      stopping ??= (async () => {
        app.toolcage.draining = true;
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
