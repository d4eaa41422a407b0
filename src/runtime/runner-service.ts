import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { EgressEvent } from '../egress/types.ts';
import type { LoadedConfig } from '../config/load.ts';
import { recordDecision, type AuditSink } from '../audit/audit.ts';
import { DpopProofVerifier } from '../claims/dpop.ts';
import { RunnerMetrics, combineObservers } from '../metrics/runner-metrics.ts';
import { createRunner, type Runner } from './runner.ts';
import { openStateStores } from './state.ts';
import { DeferredBackend } from './deferred-backend.ts';
import type { DockerBackend } from '../sandbox/docker/docker-backend.ts';

export interface RunnerService {
  app: FastifyInstance;
  runner: Runner;
  metrics: RunnerMetrics;
  /** Listens on the configured (or given) host and port; resolves to the base URL. */
  listen(override?: { host?: string; port?: number }): Promise<string>;
  /**
   * Resolves once the backends made after listening (Docker) have started or
   * failed to; never rejects. `/readyz` says which.
   */
  started(): Promise<void>;
  /**
   * Graceful stop: readiness goes false, the server stops accepting, in-flight
   * runs get `graceMs` to finish and are then aborted, sandboxes are disposed.
   * Resolves to how many runs were aborted.
   */
  shutdown(graceMs?: number): Promise<{ aborted: number }>;
}

/**
 * One egress log line: the event's named fields only (hosts, lanes, sizes,
 * outcome), so a field added to EgressEvent later is not logged unseen.
 * Never a header value, a body or a path.
 */
function egressLogFields(e: EgressEvent): Record<string, unknown> {
  return {
    invocationId: e.invocationId,
    toolId: e.toolId,
    method: e.method,
    host: e.host,
    port: e.port,
    outcome: e.outcome,
    ...(e.status !== undefined ? { status: e.status } : {}),
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    injected: e.injected,
    ...(e.responseBytes !== undefined ? { responseBytes: e.responseBytes } : {}),
    durationMs: e.durationMs,
  };
}

/** Assembles `toolcage serve` from configuration: stores, DPoP verifier, metrics, runner, app. */
export async function createRunnerService(
  loaded: LoadedConfig,
  options: { logger?: Logger; audit?: AuditSink; backends?: ReadonlyArray<'js' | 'docker'> } = {},
): Promise<RunnerService> {
  const http = loaded.config.runner.http;
  // The HTTP app (fastify and its plugins) loads while the runner starts, which mostly waits on
  // I/O (worker processes, the Docker engine, the registry's image identities): start-up overlaps
  // the two instead of paying for them one after the other.
  const httpModules = Promise.all([import('../http/runner-app.ts'), import('../http/listen.ts')]);
  httpModules.catch(() => undefined); // awaited below; a failure must not surface as unhandled first
  const stores = await openStateStores(loaded);
  let stopping: Promise<{ aborted: number }> | undefined;
  let listened!: () => void;
  const listening = new Promise<void>((resolve) => (listened = resolve));
  const metrics = new RunnerMetrics();
  // Off unless `telemetry.tracing.enabled`: then spans go to the OTLP exporter beside the metrics.
  // The OpenTelemetry SDK and exporter (~200 modules, ~15 MB resident) load only when it is on.
  const tracingConfig = loaded.config.telemetry.tracing;
  const tracing = tracingConfig.enabled
    ? (await import('../telemetry/tracing.ts')).startTracing(tracingConfig)
    : undefined;
  const dpop = new DpopProofVerifier({
    replay: stores.replay,
    maxAgeSeconds: http.dpopMaxAgeSeconds,
    clockToleranceSeconds: http.dpopClockToleranceSeconds,
  });
  let runner: Runner;
  // The app (and its logger) is built after the runner; egress events only come from runs, which need the app.
  const egressLog: { to?: FastifyBaseLogger } = {};
  try {
    runner = await createRunner(loaded, {
      stores,
      observer: tracing ? combineObservers(metrics.observer, tracing.observer) : metrics.observer,
      dpop: dpop.forClaims(),
      onEgress: (event) => egressLog.to?.info({ egress: egressLogFields(event) }, 'egress'),
      // Registry reloads (lock watched, SIGHUP) are reported on the service's log once it exists.
      log: (line) =>
        egressLog.to ? egressLog.to.info(line) : process.stderr.write(`toolcage: ${line}\n`),
      ...(options.audit ? { audit: options.audit } : {}),
      ...(options.backends ? { backends: options.backends } : {}),
      // The Docker backend is made once the service listens (or has failed to); /readyz waits for it.
      dockerInBackground: { after: listening, cancelled: () => stopping !== undefined },
    });
  } catch (err) {
    await stores.close();
    await tracing?.shutdown();
    throw err;
  }
  // Made in the background (DeferredBackend): no pool to report until the backend exists.
  const made = runner.backends.docker;
  const docker = (made instanceof DeferredBackend ? made.current : made) as
    Partial<Pick<DockerBackend, 'poolState'>> | undefined;
  const dockerPool =
    made instanceof DeferredBackend
      ? () =>
          (
            made.current as Partial<Pick<DockerBackend, 'poolState'>> | undefined
          )?.poolState?.() ?? {
            inFlight: 0,
            pendingRemovals: 0,
            tools: [],
          }
      : typeof docker?.poolState === 'function'
        ? () => docker.poolState!()
        : undefined;
  metrics.attach({
    isKnownTool: (id) => runner.registry().get(id) !== undefined,
    ...(runner.concurrency ? { concurrency: () => runner.concurrency!.stats() } : {}),
    ...(dockerPool ? { dockerPool } : {}),
  });
  const [{ buildRunnerApp }, { listenOrExplain }] = await httpModules;
  const app = buildRunnerApp(runner, {
    metrics,
    ...(options.logger ? { logger: options.logger } : { logLevel: http.logLevel }),
    bodyLimitBytes: http.bodyLimitBytes,
    requestTimeoutMs: http.requestTimeoutMs,
    headersTimeoutMs: http.headersTimeoutMs,
    keepAliveTimeoutMs: http.keepAliveTimeoutMs,
    ...(http.publicUrl ? { publicUrl: http.publicUrl } : {}),
    ...(stores.health ? { storesHealth: () => stores.health!() } : {}),
    runnerJwks: () => runner.runnerJwks(),
  });
  egressLog.to = app.log;

  return {
    app,
    runner,
    metrics,
    async listen(override = {}) {
      const url = await listenOrExplain(app, {
        host: override.host ?? http.host,
        port: override.port ?? http.port,
        configKey: 'runner.http.host/port',
      }).finally(listened);
      await recordDecision(runner.audit, { kind: 'service_started', service: 'runner' });
      return url;
    },
    started() {
      const docker = runner.backends.docker;
      return docker instanceof DeferredBackend ? docker.settled() : Promise.resolve();
    },
    shutdown(graceMs = http.shutdownGraceMs) {
      stopping ??= (async () => {
        listened(); // a backend still waiting to be made is not made (`stopping` is set)
        const control = app.toolcage;
        control.draining = true;
        // Stop accepting; fastify closes idle keep-alive sockets and answers 503 on busy ones.
        const closed = app.close();
        let aborted = 0;
        if (!(await control.inFlight.waitIdle(graceMs))) {
          aborted = control.inFlight.size;
          control.inFlight.abortAll(new Error('shutdown deadline passed'));
          await control.inFlight.waitIdle(5_000);
        }
        await closed;
        await recordDecision(runner.audit, { kind: 'service_stopped', service: 'runner' }).catch(
          () => {},
        );
        await runner.close();
        // Every call has reported its outcome: flush the last spans to the collector.
        await tracing?.shutdown();
        await stores.close();
        return { aborted };
      })();
      return stopping;
    },
  };
}
