import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { Principal } from './claim-provider.ts';
import type { IdentityVerifier } from '../identity/verifier.ts';
import type { McpSessions } from './sessions.ts';
import { isLegacyRequest } from '@modelcontextprotocol/server';
import { createModernHandler } from './modern.ts';

export interface McpHttpOptions {
  service: McpSessions;
  /** The bearer token verifier, or a factory given the resource URL (its audience), for when the port is only known once listening. */
  identity?: IdentityVerifier | ((resourceUrl: string) => IdentityVerifier);
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** The canonical resource URL; default `http://HOST:PORT/mcp` (known once listening). */
  resourceUrl?: string;
  /** RFC 9728 `authorization_servers`. */
  authorizationServers: string[];
  /** Open sessions, all subjects; one more initialize is 503. Default 1000. */
  maxSessions?: number;
  /**
   * Open sessions one subject may hold; one more initialize is 429 with
   * Retry-After (issue 16, item 7: one identity could take every session).
   * Default 16.
   */
  maxSessionsPerPrincipal?: number;
  /**
   * A session with no POST in flight and none for this long is closed, open
   * GET notification streams included (the client re-initializes). Default
   * 900 000 (15 min).
   */
  sessionIdleMs?: number;
  bodyLimitBytes?: number;
  /**
   * Serve every request as this principal without asking for a token: for a
   * loopback-only development or conformance setup (`mcp.http.insecureNoAuth`),
   * as stdio serves its local user. Refused on a non-loopback host.
   */
  insecureLocalPrincipal?: Principal;
}

export interface McpHttpServer {
  /** The MCP endpoint, e.g. `http://127.0.0.1:41234/mcp`. */
  url: string;
  /** The protected resource metadata document's URL (RFC 9728). */
  resourceMetadataUrl: string;
  http: HttpServer;
  close(): Promise<void>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  /** A session belongs to the subject that opened it (MCP security best practices: bind session ids to the user). */
  sub: string;
  /** When its last request ended (or began, while `active`); idle expiry counts from here. */
  lastSeen: number;
  /** POSTs in flight (a long tool call is not idleness); open GET streams do not count. */
  active: number;
}

const MCP_PATH = '/mcp';
const PRM_PATH = '/.well-known/oauth-protected-resource';

/**
 * `toolcage mcp --port N`: Streamable HTTP on loopback. Every request to the
 * MCP endpoint carries the client's bearer token, verified against the
 * identity provider (issuer, signature, expiry, audience = this resource,
 * RFC 8707); a missing or bad token is a 401 whose `WWW-Authenticate` points
 * at the RFC 9728 metadata, as the MCP authorization spec asks. The token is
 * only read for the principal; nothing downstream ever sees it.
 */
export async function startMcpHttp(options: McpHttpOptions): Promise<McpHttpServer> {
  const host = options.host ?? '127.0.0.1';
  if (!options.identity && !options.insecureLocalPrincipal)
    throw new TypeError(
      'Expected options.identity (or options.insecureLocalPrincipal on loopback)',
    );
  if (options.insecureLocalPrincipal && !isLoopback(host))
    throw new ToolcageError('config_invalid', {
      message: `mcp.http.insecureNoAuth serves every caller as ${options.insecureLocalPrincipal.sub}; it is allowed on a loopback host only, not ${host}.`,
    });
  const sessions = new Map<string, Session>();
  const maxSessions = positiveInt('maxSessions', options.maxSessions ?? 1000);
  const perPrincipal = positiveInt(
    'maxSessionsPerPrincipal',
    options.maxSessionsPerPrincipal ?? 16,
  );
  const idleMs = positiveInt('sessionIdleMs', options.sessionIdleMs ?? 900_000);
  /** Open sessions per subject (a Map: subjects are token-chosen strings). */
  const perSubject = new Map<string, number>();
  const bodyLimit = options.bodyLimitBytes ?? 1024 * 1024;
  let resourceUrl = '';
  let prmUrl = '';
  let allowedHosts: string[] = [];
  let identity: IdentityVerifier | undefined;
  const modern = createModernHandler(options.service);

  const http = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, new ToolcageError('internal', { cause: err }));
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === PRM_PATH || path === `${PRM_PATH}${MCP_PATH}`) {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendError(
          res,
          new ToolcageError('request_invalid', {
            message: 'Use GET for the protected resource metadata.',
          }),
          405,
        );
      return sendJson(
        res,
        200,
        {
          resource: resourceUrl,
          authorization_servers: options.authorizationServers,
          bearer_methods_supported: ['header'],
          resource_name: 'toolcage MCP server',
        },
        { 'access-control-allow-origin': '*' },
      );
    }
    if (path !== MCP_PATH)
      return sendError(
        res,
        new ToolcageError('not_found', {
          message: `No route ${req.method} ${path.slice(0, 200)}. The MCP endpoint is ${MCP_PATH}.`,
        }),
      );

    const principal = await authenticate(req, res);
    if (!principal) return;

    const sessionId = header(req, 'mcp-session-id');
    if (req.method === 'POST') {
      const raw = await readBody(req, res, bodyLimit);
      if (raw === undefined) return;
      const body = parseJson(raw, res);
      if (body === undefined) return;
      // The 2026-07-28 era has no initialize and no session: it is served statelessly, per request.
      if (sessionId === undefined) {
        const request = toWebRequest(req, raw, resourceUrl);
        if (!(await isLegacyRequest(request, body))) {
          if (!allowedHosts.includes(header(req, 'host') ?? ''))
            return sendRpcError(res, 403, -32000, 'Forbidden: the Host header is not this server.');
          const answer = await modern.fetch(request, { authInfo: authInfoOf(principal) });
          return writeWebResponse(answer, res);
        }
      }
      if (sessionId === undefined) {
        if (!isInitializeRequest(body))
          return sendRpcError(
            res,
            400,
            -32600,
            'Bad Request: no mcp-session-id header; start with an initialize request.',
          );
        const sub = principal.principal.sub;
        if ((perSubject.get(sub) ?? 0) >= perPrincipal) {
          res.setHeader('retry-after', String(Math.ceil(Math.min(idleMs, 60_000) / 1000)));
          return sendRpcError(
            res,
            429,
            -32000,
            `Too many open MCP sessions for this identity (${perPrincipal}). Close one (DELETE ${MCP_PATH} with its mcp-session-id) or wait for an idle one to expire after ${Math.round(idleMs / 1000)} s.`,
          );
        }
        if (sessions.size >= maxSessions) {
          res.setHeader('retry-after', '30');
          return sendRpcError(res, 503, -32000, 'Too many MCP sessions; retry later.');
        }
        const transport = await newSession(sub);
        return transport.handleRequest(withAuth(req, principal), res, body);
      }
      const session = ownedSession(sessionId, principal.principal.sub);
      if (!session)
        return sendRpcError(
          res,
          404,
          -32001,
          'Session not found; start a new session with initialize.',
        );
      return track(session, res, () =>
        session.transport.handleRequest(withAuth(req, principal), res, body),
      );
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      const session =
        sessionId === undefined ? undefined : ownedSession(sessionId, principal.principal.sub);
      if (!session)
        return sendRpcError(res, sessionId === undefined ? 400 : 404, -32001, 'Session not found.');
      // An open GET notification stream is not activity: a client that only holds streams open
      // would otherwise keep its sessions (and the caps) for good.
      session.lastSeen = Date.now();
      return session.transport.handleRequest(withAuth(req, principal), res);
    }
    res.setHeader('allow', 'GET, POST, DELETE');
    return sendRpcError(res, 405, -32000, 'Method not allowed.');
  }

  /** Marks the session busy until the response ends. */
  async function track(session: Session, res: ServerResponse, fn: () => Promise<void>) {
    session.active++;
    session.lastSeen = Date.now();
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      session.active--;
      session.lastSeen = Date.now();
    };
    res.once('close', end);
    try {
      await fn();
    } finally {
      if (res.writableEnded) end();
    }
  }

  function forget(id: string): void {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    const left = (perSubject.get(s.sub) ?? 1) - 1;
    if (left > 0) perSubject.set(s.sub, left);
    else perSubject.delete(s.sub);
  }

  // Idle expiry: without it a session lives until restart, and the caps would be reached for good.
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [id, s] of sessions) {
        if (s.active > 0 || now - s.lastSeen < idleMs) continue;
        forget(id);
        void s.transport.close().catch(() => undefined);
      }
    },
    Math.max(50, Math.min(30_000, Math.floor(idleMs / 4))),
  );
  sweep.unref();

  function ownedSession(id: string, sub: string): Session | undefined {
    const s = sessions.get(id);
    // Another subject's session id is answered exactly like an unknown one.
    return s && s.sub === sub ? s : undefined;
  }

  async function newSession(sub: string): Promise<StreamableHTTPServerTransport> {
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Plain JSON answers to POSTs (no SSE per call); notifications go over the session's GET stream.
      enableJsonResponse: true,
      enableDnsRebindingProtection: true,
      allowedHosts,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, sub, lastSeen: Date.now(), active: 0 });
        perSubject.set(sub, (perSubject.get(sub) ?? 0) + 1);
      },
      onsessionclosed: (id) => {
        forget(id);
      },
    });
    const server = options.service.createServer(
      (extra) => extra.authInfo?.extra?.principal as Principal | undefined,
    );
    // The SDK chains this with the server's own close handling (which unregisters it from reloads).
    transport.onclose = () => {
      if (transport.sessionId) forget(transport.sessionId);
    };
    await server.connect(transport);
    return transport;
  }

  async function authenticate(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<
    { principal: Principal; expiresAt: number; scopes: string[]; clientId: string } | undefined
  > {
    const local = options.insecureLocalPrincipal;
    if (local) {
      return {
        principal: local,
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
        scopes: [],
        clientId: 'local',
      };
    }
    const auth = header(req, 'authorization');
    const match = auth === undefined ? null : /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(auth);
    if (!match) {
      // RFC 6750 §3.1: no error code when the request carried no credentials at all.
      const params =
        auth === undefined
          ? [`resource_metadata="${prmUrl}"`]
          : [
              'error="invalid_request"',
              'error_description="Expected Authorization: Bearer TOKEN"',
              `resource_metadata="${prmUrl}"`,
            ];
      res.setHeader('www-authenticate', `Bearer ${params.join(', ')}`);
      sendError(
        res,
        new ToolcageError('unauthenticated', {
          message: `This MCP server needs a bearer token from its identity provider, issued for ${resourceUrl} (see ${prmUrl}).`,
        }),
      );
      return undefined;
    }
    try {
      const { principal, ...token } = await identity!.verifyToken(match[1]!);
      // An MCP call acts in the credential's default tenant: the MCP request has no say in it.
      return {
        principal: {
          sub: principal.subject,
          tenant: principal.defaultTenant,
          roles: principal.roles,
        },
        ...token,
      };
    } catch (err) {
      const reason = err instanceof ToolcageError ? err.message : 'The token could not be verified';
      res.setHeader(
        'www-authenticate',
        `Bearer error="invalid_token", error_description="${reason.replace(/["\\]/g, '')}", resource_metadata="${prmUrl}"`,
      );
      sendError(
        res,
        new ToolcageError('unauthenticated', {
          message: `${reason}. Present a token from the identity provider issued for ${resourceUrl}.`,
        }),
      );
      return undefined;
    }
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const { port } = http.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  resourceUrl = options.resourceUrl ?? `${origin}${MCP_PATH}`;
  prmUrl = `${origin}${PRM_PATH}${MCP_PATH}`;
  allowedHosts = [`${host}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`];
  try {
    identity =
      typeof options.identity === 'function' ? options.identity(resourceUrl) : options.identity;
  } catch (err) {
    clearInterval(sweep);
    http.close();
    throw err;
  }

  return {
    url: `${origin}${MCP_PATH}`,
    resourceMetadataUrl: prmUrl,
    http,
    async close() {
      clearInterval(sweep);
      await Promise.allSettled([
        ...[...sessions.values()].map((s) => s.transport.close()),
        modern.close(),
      ]);
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

type VerifiedCaller = {
  principal: Principal;
  expiresAt: number;
  scopes: string[];
  clientId: string;
};

/**
 * What the SDKs hand handlers as `authInfo`. The token itself stays out of it:
 * handlers need the principal, and nothing downstream may forward the client's token.
 */
function authInfoOf(id: VerifiedCaller): AuthInfo {
  return {
    token: '',
    clientId: id.clientId,
    scopes: id.scopes,
    expiresAt: id.expiresAt,
    extra: { principal: id.principal },
  };
}

function withAuth(req: IncomingMessage, id: VerifiedCaller): IncomingMessage & { auth: AuthInfo } {
  return Object.assign(req, { auth: authInfoOf(id) });
}

/** The request as the SDK v2 handler reads it: the body already read (and size-checked) here. */
function toWebRequest(req: IncomingMessage, body: Buffer, resourceUrl: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return new Request(new URL(req.url ?? '/', resourceUrl), {
    method: req.method ?? 'POST',
    headers,
    body: new Uint8Array(body),
  });
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new TypeError(`Expected ${name} to be a positive integer, got ${String(value)}`);
  return value;
}

async function writeWebResponse(answer: Response, res: ServerResponse): Promise<void> {
  res.statusCode = answer.status;
  answer.headers.forEach((value, name) => res.setHeader(name, value));
  if (!answer.body) {
    res.end();
    return;
  }
  for await (const chunk of answer.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk);
  res.end();
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      sendRpcError(res, 413, -32600, `Request body above ${limit} bytes.`);
      req.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer, res: ServerResponse): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    sendRpcError(res, 400, -32700, 'Parse error: the body is not JSON.');
    return undefined;
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, err: ToolcageError, status = err.status): void {
  sendJson(res, status, err.toBody(`req_${randomUUID()}`));
}

function sendRpcError(res: ServerResponse, status: number, code: number, message: string): void {
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
