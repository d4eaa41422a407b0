import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Broker } from '../broker/broker.ts';
import { isAnyApprover, mayDecide } from '../broker/approval-rules.ts';
import type { ApprovalRecord } from '../broker/approval-store.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { IdentityVerifier } from '../identity/verifier.ts';
import type { Principal } from '../identity/principal.ts';
import { LOCK_FILE_NAME } from '../registry/lock.ts';
import type { Registry } from '../registry/registry.ts';
import {
  detailPage,
  errorPage,
  inboxPage,
  loginPage,
  registryPage,
  type InboxItem,
  type LockFacts,
  type PageContext,
} from './pages.ts';
import { ConsoleSessions, type ConsoleSession } from './sessions.ts';
import { AUDIT_QUERY_FIELDS, type AuditQuery, type AuditSearchClient } from './audit-client.ts';
import { decisionDetailPage, decisionsPage } from './decisions-page.ts';

export interface ConsoleOptions {
  broker: Broker;
  auth: IdentityVerifier;
  registry: () => Registry;
  /** The manifests folder, to read the lock's signer and date. */
  registryDir?: string | undefined;
  sessionIdleSeconds: number;
  /** The console's external base URL; `https:` makes the cookie Secure. */
  publicUrl?: string | undefined;
  /** The audit trail's search (`GET /v1/audit`); without it there is no Decisions page. */
  audit?: AuditSearchClient | undefined;
}

const COOKIE = 'toolcage_console';
/** Static assets ship in the package's console/ folder (two levels up from src/console and dist/console). */
const STATIC_DIR = fileURLToPath(new URL('../../console/', import.meta.url));
const STATIC: Record<string, string> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');
const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function cookieOf(request: FastifyRequest): string | undefined {
  const raw = request.headers.cookie;
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

function formField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The operator console under /console: server-rendered pages (escaped by the
 * `html` template), one script and one stylesheet from the package, a strict
 * CSP, a session cookie for a verified credential, and a CSRF token plus an
 * origin check on every state-changing request. Every decision goes through
 * the broker's ApprovalService, the same rules as the API and the CLI.
 */
export function registerConsole(app: FastifyInstance, o: ConsoleOptions): void {
  const sessions = new ConsoleSessions({ idleMs: o.sessionIdleSeconds * 1000 });
  const svc = o.broker.approvals;
  const secureCookie = (request: FastifyRequest) =>
    request.protocol === 'https' || (o.publicUrl?.startsWith('https:') ?? false);

  const ctxOf = (session?: ConsoleSession): PageContext => ({
    principal: session?.principal,
    csrf: session?.csrf,
    selfApprovalAllowed: svc.rules.policy.allowSelfApproval,
    mayApprove: session ? isAnyApprover(svc.rules, session.principal) : false,
    decisions: o.audit !== undefined && session !== undefined && mayAudit(session.principal),
  });
  /** Approvers and viewers read the audit trail of their tenants; requesters do not. */
  const mayAudit = (p: Principal) =>
    isAnyApprover(svc.rules, p) || p.roles.some((r) => svc.rules.viewerRoles.includes(r));
  const tenantsOf = (p: Principal) => (p.tenants.includes('*') ? undefined : new Set(p.tenants));

  /** A cross-site request: the browser says so (Sec-Fetch-Site) or its Origin is not this host. */
  const crossSite = (request: FastifyRequest): boolean => {
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
    const origin = request.headers.origin;
    if (origin === undefined) return false;
    const own = new Set([`${request.protocol}://${request.host}`]);
    if (o.publicUrl) own.add(new URL(o.publicUrl).origin);
    return !own.has(origin);
  };
  const csrfRefusal = () =>
    new ToolcageError('policy_denied', {
      message:
        'Cross-site or token-less form post refused (CSRF protection). Use the console page itself.',
    });

  app.register(
    async (scope) => {
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 16 * 1024 },
        (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
      );
      scope.addHook('onSend', async (_request, reply, payload) => {
        reply.header('content-security-policy', CSP);
        reply.header('x-content-type-options', 'nosniff');
        // Not no-referrer: under it Chromium sends `Origin: null` on form posts, which the
        // origin check must refuse. same-origin leaks nothing to other sites.
        reply.header('referrer-policy', 'same-origin');
        reply.header('x-frame-options', 'DENY');
        reply.header('cross-origin-opener-policy', 'same-origin');
        if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
        return payload;
      });
      scope.setErrorHandler((err, request, reply) => {
        const e =
          err instanceof ToolcageError
            ? err
            : new ToolcageError('internal', { message: 'An internal error occurred.', cause: err });
        if (e.status >= 500) request.log.error({ err }, 'console error');
        const session = sessions.get(cookieOf(request));
        return reply
          .code(e.status)
          .type('text/html; charset=utf-8')
          .send(errorPage(ctxOf(session), e.status, e.code, e.message));
      });

      const page = (reply: FastifyReply, body: string) =>
        reply.type('text/html; charset=utf-8').send(body);

      /** The signed-in session, or a redirect to sign in (pages) / a refusal (posts). */
      const sessionFor = (request: FastifyRequest): ConsoleSession | undefined =>
        sessions.get(cookieOf(request));
      const requireSession = (request: FastifyRequest): ConsoleSession => {
        const s = sessionFor(request);
        if (!s)
          throw new ToolcageError('unauthenticated', {
            message: 'Your console session has ended (or never began); sign in again.',
          });
        return s;
      };
      /** A state-changing request: signed in, same origin, carrying the session's CSRF token. */
      const requirePost = (request: FastifyRequest): ConsoleSession => {
        if (crossSite(request)) throw csrfRefusal();
        const s = requireSession(request);
        const token = formField(request.body, 'csrf') ?? request.headers['x-csrf-token'];
        if (!ConsoleSessions.csrfMatches(s, token)) throw csrfRefusal();
        return s;
      };

      scope.get('/static/:file', async (request, reply) => {
        const file = (request.params as { file: string }).file;
        if (!Object.hasOwn(STATIC, file))
          throw new ToolcageError('not_found', { message: 'No such console file.' });
        return reply
          .type(STATIC[file]!)
          .header('cache-control', 'public, max-age=300')
          .send(readFileSync(join(STATIC_DIR, file)));
      });

      scope.get('/', async (_request, reply) => reply.redirect('/console/approvals', 303));
      // Browsers ask for /favicon.ico on their own; answer it so no page logs a 404.
      app.get('/favicon.ico', async (_request, reply) =>
        reply
          .type(STATIC['favicon.svg']!)
          .header('cache-control', 'public, max-age=86400')
          .send(readFileSync(join(STATIC_DIR, 'favicon.svg'))),
      );

      scope.get('/login', async (request, reply) => {
        if (sessionFor(request)) return reply.redirect('/console/approvals', 303);
        return page(reply, loginPage(ctxOf()));
      });

      scope.post('/login', async (request, reply) => {
        if (crossSite(request)) throw csrfRefusal();
        const credential = formField(request.body, 'credential')?.trim() ?? '';
        let principal: Principal;
        let notAfterMs: number | undefined;
        try {
          if (JWS.test(credential)) {
            const token = await o.auth.verifyToken(credential);
            principal = token.principal;
            notAfterMs = token.expiresAt * 1000;
          } else {
            principal = await o.auth.authenticate({ 'x-api-key': credential });
          }
        } catch (err) {
          const message = err instanceof ToolcageError ? err.message : 'Sign-in failed.';
          return reply.code(401).type('text/html; charset=utf-8').send(loginPage(ctxOf(), message));
        }
        const s = sessions.create(principal, notAfterMs);
        request.log.info(
          {
            event: 'console_sign_in',
            sub: principal.subject,
            via: principal.via,
          },
          'console sign-in',
        );
        reply.header(
          'set-cookie',
          `${COOKIE}=${s.id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${o.sessionIdleSeconds}${secureCookie(request) ? '; Secure' : ''}`,
        );
        return reply.redirect('/console/approvals', 303);
      });

      scope.post('/logout', async (request, reply) => {
        const s = requirePost(request);
        sessions.end(s.id);
        reply.header(
          'set-cookie',
          `${COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0${secureCookie(request) ? '; Secure' : ''}`,
        );
        return reply.redirect('/console/login', 303);
      });

      const item = (s: ConsoleSession, r: ApprovalRecord): InboxItem => ({
        view: svc.view(r),
        tool: o.registry().get(r.tool),
        decide: mayDecide(svc.rules, s.principal, r),
      });
      const pendingVersion = (records: ApprovalRecord[]) =>
        createHash('sha256')
          .update(records.map((r) => r.id).join(','))
          .digest('hex')
          .slice(0, 16);

      scope.get('/approvals', async (request, reply) => {
        const s = sessionFor(request);
        if (!s) return reply.redirect('/console/login', 303);
        const pending = await svc.list(s.principal, { status: 'pending' });
        const recent = (await svc.list(s.principal, { limit: 100 })).filter(
          (r) => r.status !== 'pending',
        );
        const notice = (request.query as Record<string, string | undefined>).done;
        return page(
          reply,
          inboxPage(ctxOf(s), {
            pending: pending.map((r) => item(s, r)),
            recent: recent.slice(0, 50).map((r) => item(s, r)),
            version: pendingVersion(pending),
            notice: notice === 'approved' || notice === 'denied' ? `Request ${notice}.` : undefined,
          }),
        );
      });

      scope.get('/api/inbox-version', async (request) => {
        const s = requireSession(request);
        const pending = await svc.list(s.principal, { status: 'pending' });
        return { version: pendingVersion(pending), pending: pending.length };
      });

      scope.get('/approvals/:id', async (request, reply) => {
        const s = sessionFor(request);
        if (!s) return reply.redirect('/console/login', 303);
        const r = await svc.show(s.principal, (request.params as { id: string }).id);
        return page(reply, detailPage(ctxOf(s), item(s, r)));
      });

      for (const [action, decision] of [
        ['approve', 'approved'],
        ['deny', 'denied'],
      ] as const) {
        scope.post(`/approvals/:id/${action}`, async (request, reply) => {
          const s = requirePost(request);
          const { record } = await svc.decide({
            actor: s.principal,
            id: (request.params as { id: string }).id,
            decision,
            reason: formField(request.body, 'reason'),
            requestId: request.id,
          });
          return reply.redirect(`/console/approvals?done=${record.status}`, 303);
        });
      }

      if (o.audit) {
        const audit = o.audit;
        const auditSession = (request: FastifyRequest) => {
          const s = sessionFor(request);
          if (s && !mayAudit(s.principal))
            throw new ToolcageError('policy_denied', {
              message: 'Only approvers and viewers may search the audit trail.',
            });
          return s;
        };
        scope.get('/decisions', async (request, reply) => {
          const s = auditSession(request);
          if (!s) return reply.redirect('/console/login', 303);
          const raw = request.query as Record<string, unknown>;
          const q: AuditQuery = {};
          for (const f of AUDIT_QUERY_FIELDS) {
            const v = raw[f];
            if (typeof v === 'string' && v !== '') q[f] = v.slice(0, 200);
          }
          const allowed = tenantsOf(s.principal);
          if (allowed && q.tenant && !allowed.has(q.tenant))
            throw new ToolcageError('policy_denied', {
              message: `Your credential is not for tenant ${q.tenant}.`,
            });
          if (allowed && !q.tenant && allowed.size === 1) q.tenant = [...allowed][0]!;
          const found = await audit.search(q);
          const records = found.records.filter(
            (r) => !allowed || (r.tenant !== undefined && allowed.has(r.tenant)),
          );
          return page(reply, decisionsPage(ctxOf(s), q, { ...found, records }));
        });
        scope.get('/decisions/:requestId', async (request, reply) => {
          const s = auditSession(request);
          if (!s) return reply.redirect('/console/login', 303);
          const requestId = (request.params as { requestId: string }).requestId.slice(0, 200);
          const allowed = tenantsOf(s.principal);
          const records = (await audit.search({ requestId })).records.filter(
            (r) => !allowed || (r.tenant !== undefined && allowed.has(r.tenant)),
          );
          return page(reply, decisionDetailPage(ctxOf(s), requestId, records));
        });
      }

      scope.get('/registry', async (request, reply) => {
        const s = sessionFor(request);
        if (!s) return reply.redirect('/console/login', 303);
        const tools = o
          .registry()
          .list()
          .sort((a, b) => (a.manifest.id < b.manifest.id ? -1 : 1));
        return page(reply, registryPage(ctxOf(s), tools, lockFacts(o.registryDir)));
      });
    },
    { prefix: '/console' },
  );
}

/** The lock's signing key id (its detached JWS header) and when the lock file was written. */
function lockFacts(dir: string | undefined): LockFacts {
  if (!dir) return {};
  try {
    const file = join(dir, LOCK_FILE_NAME);
    const lock = JSON.parse(readFileSync(file, 'utf8')) as { signature?: string };
    const header = lock.signature
      ? (JSON.parse(Buffer.from(lock.signature.split('.')[0]!, 'base64url').toString('utf8')) as {
          kid?: string;
        })
      : undefined;
    return { signer: header?.kid, date: statSync(file).mtime.toISOString() };
  } catch {
    return {};
  }
}
