/** Who calls the MCP Streamable HTTP edge: the bearer token, verified, turned into a principal. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { TokenVerifier } from '../identity/token-cache.ts';
import type { Principal } from './claim-provider.ts';
import { header, sendError } from './http-io.ts';

/** A caller after authentication: the principal and what the SDKs want of the token (never the token). */
export interface VerifiedCaller {
  principal: Principal;
  expiresAt: number;
  scopes: string[];
  clientId: string;
}

export interface BearerAuthOptions {
  /** The token verifier (known once listening: its audience is the resource URL). */
  identity: () => TokenVerifier | undefined;
  /** `mcp.http.insecureNoAuth`: every request is this principal, no token asked. */
  insecureLocalPrincipal?: Principal | undefined;
  resourceUrl: () => string;
  /** The RFC 9728 metadata URL a 401 points at. */
  prmUrl: () => string;
}

/**
 * Authenticates one request: the verified caller, or undefined after
 * answering 401 with a `WWW-Authenticate` that points at the protected
 * resource metadata (MCP authorization spec; RFC 6750 §3.1: no error code
 * when no credential was sent). The reason names no token content.
 */
export function bearerAuth(
  o: BearerAuthOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<VerifiedCaller | undefined> {
  return async (req, res) => {
    const local = o.insecureLocalPrincipal;
    if (local) {
      return {
        principal: local,
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
        scopes: [],
        clientId: 'local',
      };
    }
    const prmUrl = o.prmUrl();
    const resourceUrl = o.resourceUrl();
    const auth = header(req, 'authorization');
    const match = auth === undefined ? null : /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(auth);
    if (!match) {
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
      const { principal, ...token } = await o.identity()!.verifyToken(match[1]!);
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
  };
}

/**
 * What the SDKs hand handlers as `authInfo`. The token itself stays out of it:
 * handlers need the principal, and nothing downstream may forward the client's token.
 */
export function authInfoOf(id: VerifiedCaller): AuthInfo {
  return {
    token: '',
    clientId: id.clientId,
    scopes: id.scopes,
    expiresAt: id.expiresAt,
    extra: { principal: id.principal },
  };
}

export function withAuth(
  req: IncomingMessage,
  id: VerifiedCaller,
): IncomingMessage & { auth: AuthInfo } {
  return Object.assign(req, { auth: authInfoOf(id) });
}
