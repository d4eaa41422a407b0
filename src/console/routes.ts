import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker/broker.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { GovernorReporter } from '../governors/report.ts';
import type { IdentityVerifier } from '../identity/verifier.ts';
import type { ConsoleSessionStore } from '../ports/stores.ts';
import type { Registry } from '../registry/registry.ts';
import type { AuditSearchClient } from './audit-client.ts';
import { registerAuthRoutes } from './auth-routes.ts';
import { registerDecisionsRoutes } from './decisions-routes.ts';
import { registerGovernorsRoutes } from './governors-routes.ts';
import { ConsoleGuard } from './guard.ts';
import { registerInboxRoutes } from './inbox-routes.ts';
import { errorPage } from './layout.ts';
import { registerRegistryRoutes } from './registry-routes.ts';
import { ConsoleSessions } from './sessions.ts';

export interface ConsoleOptions {
  broker: Broker;
  auth: IdentityVerifier;
  registry: () => Registry;
  /** The manifests folder, to read the lock's signer and date. */
  registryDir?: string | undefined;
  sessionIdleSeconds: number;
  /** Where sign-in sessions live (the state store, shared by replicas); default this process's memory. */
  sessionStore?: ConsoleSessionStore | undefined;
  /** The console's external base URL; `https:` makes the cookie Secure. */
  publicUrl?: string | undefined;
  /** The audit trail's search (`GET /v1/audit`); without it there is no Decisions page. */
  audit?: AuditSearchClient | undefined;
  /** The governors' state; without it there is no Governors page. */
  governors?: GovernorReporter | undefined;
}

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

/**
 * The operator console under /console: server-rendered pages (escaped by the
 * `html` template), one script and one stylesheet from the package, a strict
 * CSP, a session cookie for a verified credential, and a CSRF token plus an
 * origin check on every state-changing request (guard.ts). Each page's
 * routes are in their own file; this one holds what they share.
 */
export function registerConsole(app: FastifyInstance, o: ConsoleOptions): void {
  const guard = new ConsoleGuard({
    broker: o.broker,
    sessions: new ConsoleSessions({
      idleMs: o.sessionIdleSeconds * 1000,
      ...(o.sessionStore ? { store: o.sessionStore } : {}),
    }),
    publicUrl: o.publicUrl,
    features: { decisions: o.audit !== undefined, governors: o.governors !== undefined },
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
      scope.setErrorHandler(async (err, request, reply) => {
        const e =
          err instanceof ToolcageError
            ? err
            : new ToolcageError('internal', { message: 'An internal error occurred.', cause: err });
        if (e.status >= 500) request.log.error({ err }, 'console error');
        // The error page shows who is signed in, unless the session store is what failed.
        const session = await guard.sessionFor(request).catch(() => undefined);
        return reply
          .code(e.status)
          .type('text/html; charset=utf-8')
          .send(errorPage(guard.ctxOf(session), e.status, e.code, e.message));
      });

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

      registerAuthRoutes(scope, { guard, auth: o.auth, sessionIdleSeconds: o.sessionIdleSeconds });
      registerInboxRoutes(scope, { guard, broker: o.broker, registry: o.registry });
      if (o.audit) registerDecisionsRoutes(scope, { guard, audit: o.audit });
      registerRegistryRoutes(scope, { guard, registry: o.registry, registryDir: o.registryDir });
      if (o.governors)
        registerGovernorsRoutes(scope, { guard, broker: o.broker, governors: o.governors });
    },
    { prefix: '/console' },
  );
}
