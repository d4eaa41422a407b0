import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { isLegacyRequest } from '@modelcontextprotocol/server';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { CachedTokenVerifier } from '../identity/token-cache.ts';
import type { IdentityVerifier } from '../identity/verifier.ts';
import type { Principal } from './claim-provider.ts';
import { authInfoOf, bearerAuth, withAuth } from './http-auth.ts';
import {
  header,
  isLoopback,
  parseJson,
  positiveInt,
  readBody,
  sendError,
  sendJson,
  sendRpcError,
  toWebRequest,
  writeWebResponse,
} from './http-io.ts';
import { SessionTable } from './http-sessions.ts';
import { createModernHandler } from './modern.ts';
import type { McpSessions } from './sessions.ts';

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
  const bodyLimit = options.bodyLimitBytes ?? 1024 * 1024;
  let resourceUrl = '';
  let prmUrl = '';
  let allowedHosts: string[] = [];
  let identity: CachedTokenVerifier | undefined;
  const sessions = new SessionTable({
    service: options.service,
    maxSessions: positiveInt('maxSessions', options.maxSessions ?? 1000),
    maxPerSubject: positiveInt('maxSessionsPerPrincipal', options.maxSessionsPerPrincipal ?? 16),
    idleMs: positiveInt('sessionIdleMs', options.sessionIdleMs ?? 900_000),
    allowedHosts: () => allowedHosts,
  });
  const authenticate = bearerAuth({
    identity: () => identity,
    insecureLocalPrincipal: options.insecureLocalPrincipal,
    resourceUrl: () => resourceUrl,
    prmUrl: () => prmUrl,
  });
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

    const caller = await authenticate(req, res);
    if (!caller) return;
    const sub = caller.principal.sub;
    const sessionId = header(req, 'mcp-session-id');
    if (req.method === 'POST') {
      const raw = await readBody(req, res, bodyLimit);
      if (raw === undefined) return;
      const body = parseJson(raw, res);
      if (body === undefined) return;
      if (sessionId === undefined) {
        // The 2026-07-28 era has no initialize and no session: it is served statelessly, per request.
        // The SDK is handed the body read and parsed above: neither its routing predicate nor its
        // handler reads or parses it again (the Mcp-Method / Mcp-Name check is on this same body).
        const request = toWebRequest(req, resourceUrl);
        if (!(await isLegacyRequest(request, body))) {
          if (!allowedHosts.includes(header(req, 'host') ?? ''))
            return sendRpcError(res, 403, -32000, 'Forbidden: the Host header is not this server.');
          const answer = await modern.fetch(request, {
            authInfo: authInfoOf(caller),
            parsedBody: body,
          });
          return writeWebResponse(answer, res);
        }
        if (!isInitializeRequest(body))
          return sendRpcError(
            res,
            400,
            -32600,
            'Bad Request: no mcp-session-id header; start with an initialize request.',
          );
        const refused = sessions.refusal(sub);
        if (refused) {
          res.setHeader('retry-after', String(refused.retryAfterSeconds));
          return sendRpcError(res, refused.status, -32000, refused.message);
        }
        const transport = await sessions.open(sub);
        return transport.handleRequest(withAuth(req, caller), res, body);
      }
      const session = sessions.owned(sessionId, sub);
      if (!session)
        return sendRpcError(
          res,
          404,
          -32001,
          'Session not found; start a new session with initialize.',
        );
      return sessions.track(session, res, () =>
        session.transport.handleRequest(withAuth(req, caller), res, body),
      );
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      const session = sessionId === undefined ? undefined : sessions.owned(sessionId, sub);
      if (!session)
        return sendRpcError(res, sessionId === undefined ? 400 : 404, -32001, 'Session not found.');
      // An open GET notification stream is not activity: a client that only holds streams open
      // would otherwise keep its sessions (and the caps) for good.
      session.lastSeen = Date.now();
      return session.transport.handleRequest(withAuth(req, caller), res);
    }
    res.setHeader('allow', 'GET, POST, DELETE');
    return sendRpcError(res, 405, -32000, 'Method not allowed.');
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
    const verifier =
      typeof options.identity === 'function' ? options.identity(resourceUrl) : options.identity;
    // Every request's token is authenticated; one already verified under the same keys, and not
    // yet expired, is not checked against its signature again (src/identity/token-cache.ts).
    if (verifier) identity = new CachedTokenVerifier({ verifier });
  } catch (err) {
    await sessions.close();
    http.close();
    throw err;
  }

  return {
    url: `${origin}${MCP_PATH}`,
    resourceMetadataUrl: prmUrl,
    http,
    async close() {
      await Promise.allSettled([sessions.close(), modern.close()]);
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
