import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { sendError } from './errors.ts';
import { OPENAPI_PATH, openApiDocument } from './openapi.ts';
import { TOOLCAGE_VERSION } from '../version.ts';

export interface BaseAppOptions {
  /** A pino logger; default: pino to stdout at `logLevel`. */
  logger?: Logger;
  logLevel?: string;
  bodyLimitBytes: number;
  /** Whole-request deadline (Node's `requestTimeout`). */
  requestTimeoutMs: number;
  /** Deadline for the request headers (Node's `headersTimeout`; slowloris). */
  headersTimeoutMs: number;
  keepAliveTimeoutMs?: number;
}

/** An incoming `x-request-id` is echoed only when it is short and plain; anything else is replaced. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SAFE_REQUEST_ID.test(header)
    ? header
    : `req_${randomUUID()}`;
}

/**
 * Logs only what is safe: never headers (Authorization, DPoP, API keys), never
 * bodies, never the query string. The redact list is a second line of defence.
 */
export function createHttpLogger(level = 'info'): Logger {
  return pino({
    level,
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ['req.headers', 'headers', 'authorization', 'dpop', 'body', 'claim', 'apiKey'],
      censor: '[redacted]',
    },
  });
}

/**
 * The fastify instance both services start from: request ids, the contract's
 * error body for every failure (unknown routes, malformed, oversized or
 * non-JSON bodies included), timeouts, and one access line per request.
 */
export function createBaseApp(options: BaseAppOptions): FastifyInstance {
  const logger = options.logger ?? createHttpLogger(options.logLevel);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'requestId',
    }),
    bodyLimit: options.bodyLimitBytes,
    requestTimeout: options.requestTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  // Node requires headersTimeout <= requestTimeout.
  app.server.headersTimeout = Math.min(options.headersTimeoutMs, options.requestTimeoutMs);
  // JSON only: fastify's default text/plain parser would let a non-JSON body reach a handler.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? '(none)',
        path: request.url.split('?')[0]!.slice(0, 256),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });
  const openapi = JSON.stringify(openApiDocument(TOOLCAGE_VERSION));
  app.get(OPENAPI_PATH, async (_request, reply) =>
    reply.header('content-type', 'application/json; charset=utf-8').send(openapi),
  );
  app.setErrorHandler((err, request, reply) => sendError(reply, err, request.id));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new ToolcageError('not_found', {
        message: `No route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}. See the README for the endpoints.`,
      }),
      request.id,
    ),
  );
  return app;
}

/** Reads a JSON object body with exactly the allowed keys; anything else is `request_invalid`. */
export function objectBody(
  body: unknown,
  allowed: readonly string[],
  required: readonly string[],
): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ToolcageError('request_invalid', {
      message: `The body must be a JSON object with ${required.map((k) => `"${k}"`).join(', ')}.`,
    });
  }
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length > 0)
    throw new ToolcageError('request_invalid', {
      message: `Unknown body field(s): ${extra
        .slice(0, 5)
        .map((k) => k.slice(0, 40))
        .join(', ')}. Allowed: ${allowed.join(', ')}.`,
    });
  const missing = required.filter((k) => !Object.hasOwn(body, k));
  if (missing.length > 0)
    throw new ToolcageError('request_invalid', {
      message: `The body lacks ${missing.map((k) => `"${k}"`).join(', ')}.`,
    });
  return body as Record<string, unknown>;
}

/** `Authorization: Bearer <token>` or `DPoP <token>` (RFC 9449 §7.1); undefined when absent. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const m = /^(?:Bearer|DPoP)\s+(\S+)\s*$/i.exec(header);
  // A header in another scheme is passed on as it is: the verifier refuses it as malformed.
  return m ? m[1] : header;
}

/** The URL a DPoP proof must name: the configured public base URL, or this request's scheme and Host. */
export function requestHtu(
  publicUrl: string | undefined,
  protocol: string,
  host: string | undefined,
  url: string,
): string {
  const path = url.split('?')[0]!.split('#')[0]!;
  if (publicUrl) return `${publicUrl.replace(/\/+$/, '')}${path}`;
  return `${protocol}://${host ?? 'localhost'}${path}`;
}
