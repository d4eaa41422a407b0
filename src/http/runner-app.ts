import type { FastifyInstance } from 'fastify';
import type { JSONWebKeySet } from 'jose';
import type { Logger } from 'pino';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { Executor } from '../ports/execute.ts';
import type { RunnerMetrics } from '../metrics/runner-metrics.ts';
import { bearerToken, createBaseApp, objectBody, requestHtu } from './base-app.ts';
import { InFlight } from './in-flight.ts';

export interface RunnerAppOptions {
  logger?: Logger;
  logLevel?: string;
  /** Serves `GET /metrics` when given. */
  metrics?: RunnerMetrics;
  bodyLimitBytes?: number;
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** The externally visible base URL DPoP proofs name (`htu`); default: the request's scheme and Host. */
  publicUrl?: string;
  /** Whether the state stores can decide right now (Redis answers PING); `/readyz` is 503 `state_unavailable` while not. */
  storesHealth?: () => Promise<{ usable: boolean; detail: string }>;
  /**
   * The public JWKS of the runner's own minting key (`Runner.runnerJwks()`),
   * served at `GET /.well-known/runner-jwks.json` for downstreams that verify
   * minted-lane tokens; 404 `not_found` while it holds no key.
   */
  runnerJwks?: () => JSONWebKeySet;
}

/** What shutdown needs of a running app: readiness goes false first, then in-flight runs drain. */
export interface RunnerAppControl {
  draining: boolean;
  inFlight: InFlight;
}

declare module 'fastify' {
  interface FastifyInstance {
    toolcage: RunnerAppControl;
  }
}

/**
 * The runner's HTTP service (CONTRACT.md, "HTTP"): a thin adapter. Each
 * invoke becomes one `executor.execute(call)`; its ToolcageError becomes the
 * contract's error body and status. Nothing here decides anything about a call.
 *
 * @example
 * ```ts
 * const app = buildRunnerApp(runner.executor, { metrics });
 * await app.listen({ host: '127.0.0.1', port: 8080 });
 * ```
 */
export function buildRunnerApp(
  runner: { executor: Executor } | Executor,
  options: RunnerAppOptions = {},
): FastifyInstance {
  const executor: Executor = 'executor' in runner ? runner.executor : runner;
  const app = createBaseApp({
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
    ...(options.keepAliveTimeoutMs ? { keepAliveTimeoutMs: options.keepAliveTimeoutMs } : {}),
  });
  const control: RunnerAppControl = { draining: false, inFlight: new InFlight() };
  app.decorate('toolcage', control);

  app.get('/v1/tools', async () => ({ tools: executor.listTools() }));

  app.post<{ Params: { id: string } }>('/v1/tools/:id/invoke', async (request, reply) => {
    if (control.draining)
      throw new ToolcageError('sandbox_unavailable', {
        message: 'The runner is shutting down; retry on another replica.',
        retryAfterSeconds: 1,
      });
    const body = objectBody(request.body, ['args'], ['args']);
    const proof = request.headers.dpop;
    const run = control.inFlight.start();
    // The client went away before the answer: stop the run (the sandbox frees its slot).
    const onClose = (): void => {
      if (!reply.raw.writableFinished) run.abort(new Error('client disconnected'));
    };
    reply.raw.once('close', onClose);
    try {
      const outcome = await executor.execute({
        toolId: request.params.id,
        args: body.args,
        claim: bearerToken(request.headers.authorization),
        dpop: {
          proof: Array.isArray(proof) ? proof.join(',') : proof,
          htm: request.method,
          htu: requestHtu(options.publicUrl, request.protocol, request.host, request.url),
        },
        requestId: request.id,
        signal: run.signal,
        ...(typeof request.headers.traceparent === 'string'
          ? { traceparent: request.headers.traceparent }
          : {}),
      });
      return reply.send(outcome);
    } finally {
      reply.raw.off('close', onClose);
      run.done();
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (request, reply) => {
    const r = await executor.readiness();
    const state = options.storesHealth
      ? await options.storesHealth().catch(() => ({ usable: false, detail: 'health check failed' }))
      : undefined;
    const ready = r.ready && !control.draining && state?.usable !== false;
    const body = {
      ready,
      draining: control.draining,
      backends: r.backends,
      stores: r.stores,
      ...(r.audit ? { audit: r.audit } : {}),
      ...(state ? { storesHealth: state } : {}),
      ...(r.withheld.length > 0 ? { withheld: r.withheld } : {}),
    };
    if (ready) return reply.send(body);
    // Fail closed: a replica that cannot reach its shared state would refuse every call, so it is not ready.
    const error = control.draining
      ? new ToolcageError('sandbox_unavailable', {
          message: 'The runner is draining for shutdown.',
        })
      : state?.usable === false
        ? new ToolcageError('state_unavailable', {
            message: /maxmemory-policy/.test(state.detail)
              ? `The ${r.stores} state store cannot be used safely: ${state.detail}`
              : `The ${r.stores} state store is unreachable (${state.detail}); this replica refuses every call until it is back.`,
          })
        : r.audit?.ready === false
          ? new ToolcageError('audit_unavailable', {
              message: `The audit trail cannot take records (${r.audit.detail}); this replica refuses every call until it can.`,
            })
          : new ToolcageError('sandbox_unavailable', {
              message: 'No sandbox backend is usable yet.',
            });
    return reply
      .code(503)
      .header('retry-after', '1')
      .send({ ...body, ...error.toBody(request.id) });
  });

  app.get('/.well-known/runner-jwks.json', async (_request, reply) => {
    const jwks = options.runnerJwks?.();
    if (!jwks || jwks.keys.length === 0) {
      throw new ToolcageError('not_found', {
        message:
          'This runner has no signing key (credentials.signingKey is not configured), so it mints no tokens and publishes no JWKS.',
      });
    }
    return reply.header('cache-control', 'public, max-age=60').send(jwks);
  });

  if (options.metrics) {
    const metrics = options.metrics;
    app.get('/metrics', async (_request, reply) =>
      reply.type(metrics.contentType()).send(await metrics.render()),
    );
  }
  return app;
}
