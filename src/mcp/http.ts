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

export interface McpHttpOptions {
  service: McpSessions;
  /** The bearer token verifier, or a factory given the resource URL (its audience), for when the port is only known once listening. */
  identity: IdentityVerifier | ((resourceUrl: string) => IdentityVerifier);
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** The canonical resource URL; default `http://HOST:PORT/mcp` (known once listening). */
  resourceUrl?: string;
  /** RFC 9728 `authorization_servers`. */
  authorizationServers: string[];
  maxSessions?: number;
  bodyLimitBytes?: number;
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
  const sessions = new Map<string, Session>();
  const maxSessions = options.maxSessions ?? 1000;
  const bodyLimit = options.bodyLimitBytes ?? 1024 * 1024;
  let resourceUrl = '';
  let prmUrl = '';
  let allowedHosts: string[] = [];
  let identity: IdentityVerifier | undefined;

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
      const body = await readJson(req, res, bodyLimit);
      if (body === undefined) return;
      if (sessionId === undefined) {
        if (!isInitializeRequest(body))
          return sendRpcError(
            res,
            400,
            -32600,
            'Bad Request: no mcp-session-id header; start with an initialize request.',
          );
        if (sessions.size >= maxSessions)
          return sendRpcError(res, 503, -32000, 'Too many MCP sessions; retry later.');
        const transport = await newSession(principal.principal.sub);
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
      return session.transport.handleRequest(withAuth(req, principal), res, body);
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      const session =
        sessionId === undefined ? undefined : ownedSession(sessionId, principal.principal.sub);
      if (!session)
        return sendRpcError(res, sessionId === undefined ? 400 : 404, -32001, 'Session not found.');
      return session.transport.handleRequest(withAuth(req, principal), res);
    }
    res.setHeader('allow', 'GET, POST, DELETE');
    return sendRpcError(res, 405, -32000, 'Method not allowed.');
  }

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
        sessions.set(id, { transport, sub });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    const server = options.service.createServer(
      (extra) => extra.authInfo?.extra?.principal as Principal | undefined,
    );
    // The SDK chains this with the server's own close handling (which unregisters it from reloads).
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
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
    http.close();
    throw err;
  }

  return {
    url: `${origin}${MCP_PATH}`,
    resourceMetadataUrl: prmUrl,
    http,
    async close() {
      await Promise.allSettled([...sessions.values()].map((s) => s.transport.close()));
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function withAuth(
  req: IncomingMessage,
  id: { principal: Principal; expiresAt: number; scopes: string[]; clientId: string },
): IncomingMessage & { auth: AuthInfo } {
  // The SDK passes `auth` to handlers as `extra.authInfo`. The token itself stays out of it:
  // handlers need the principal, and nothing downstream may forward the client's token.
  return Object.assign(req, {
    auth: {
      token: '',
      clientId: id.clientId,
      scopes: id.scopes,
      expiresAt: id.expiresAt,
      extra: { principal: id.principal },
    },
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readJson(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
): Promise<unknown> {
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
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
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
