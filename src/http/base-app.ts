import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { sendError } from './errors.ts';
import { parseJsonBody } from './json-body.ts';
import { answerClientError, RouteMethods } from './protocol-errors.ts';
import { requestIdFrom } from './request-id.ts';
import { OPENAPI_PATH, openApiDocument } from './openapi.ts';
import { TOOLCAGE_VERSION } from '../util/version.ts';

export { requestIdFrom };

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

/**
 * How often Node checks open connections for `headersTimeout` and
 * `requestTimeout`. Node's default is every 30 s, so a 10 s header deadline
 * really held for up to 40 s (issue 16, item 18): a tenth of the header
 * deadline, between 100 ms and 1 s, keeps the deadline within 10 % (or 1 s).
 */
export function connectionsCheckIntervalMs(headersTimeoutMs: number): number {
  return Math.min(1_000, Math.max(100, Math.floor(headersTimeoutMs / 10)));
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
  const headersTimeoutMs = Math.min(options.headersTimeoutMs, options.requestTimeoutMs);
  const app = Fastify({
    http: { connectionsCheckingInterval: connectionsCheckIntervalMs(headersTimeoutMs) },
    // What Node's parser refuses never reaches a route: answered in the contract's shape here.
    clientErrorHandler: answerClientError,
    frameworkErrors: (err, request, reply) => {
      void sendError(reply, err, request.id);
    },
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
  app.server.headersTimeout = headersTimeoutMs;
  // JSON only: fastify's default text/plain parser would let a non-JSON body reach a handler.
  app.removeContentTypeParser('text/plain');
  // Our JSON parser says whether a body is not JSON or carries a prototype-poisoning key.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // Bodies are never decoded here: a compressed body is refused by name, not parsed as bad JSON.
  // Hooks in callback style: an async hook costs a promise per request on every request.
  app.addHook('preParsing', (request, _reply, _payload, done) => {
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      done(
        new ToolcageError('unsupported_media_type', {
          message: `Content-Encoding "${encoding.slice(0, 40)}" is not accepted; send the JSON body uncompressed.`,
        }),
      );
      return;
    }
    done();
  });
  const routes = new RouteMethods();
  app.addHook('onRoute', (route) => routes.add(route.url, route.method));

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    reply.header('cache-control', 'no-store');
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    // The access line's fields are only gathered when it is written (services often log at warn).
    if (logger.isLevelEnabled('info'))
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
    done();
  });
  const openapi = JSON.stringify(openApiDocument(TOOLCAGE_VERSION));
  app.get(OPENAPI_PATH, async (_request, reply) =>
    reply.header('content-type', 'application/json; charset=utf-8').send(openapi),
  );
  app.setErrorHandler((err, request, reply) => sendError(reply, err, request.id));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = routes.allowed(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendError(
        reply,
        new ToolcageError('method_not_allowed', {
          message: `${path.slice(0, 200)} does not accept ${request.method.slice(0, 20)}; use ${allowed.join(' or ')}.`,
        }),
        request.id,
      );
    }
    return sendError(
      reply,
      new ToolcageError('not_found', {
        message: `No route ${request.method} ${path.slice(0, 200)}. See the README for the endpoints.`,
      }),
      request.id,
    );
  });
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
