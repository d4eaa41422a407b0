import type { FastifyInstance } from 'fastify';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { IdentityVerifier } from '../identity/verifier.ts';
import type { Principal } from '../identity/principal.ts';
import { COOKIE, formField, page, type ConsoleGuard } from './guard.ts';
import { loginPage } from './layout.ts';

const JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Sign-in (a verified API key or identity token, exchanged for a session cookie) and sign-out. */
export function registerAuthRoutes(
  scope: FastifyInstance,
  o: { guard: ConsoleGuard; auth: IdentityVerifier; sessionIdleSeconds: number },
): void {
  const { guard } = o;
  const cookie = (value: string, maxAge: number, secure: boolean) =>
    `${COOKIE}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;

  scope.get('/login', async (request, reply) => {
    if (await guard.sessionFor(request)) return reply.redirect('/console/approvals', 303);
    return page(reply, loginPage(guard.ctxOf()));
  });

  scope.post('/login', async (request, reply) => {
    if (guard.crossSite(request)) throw guard.csrfRefusal();
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
      return reply
        .code(401)
        .type('text/html; charset=utf-8')
        .send(loginPage(guard.ctxOf(), message));
    }
    const s = await guard.sessions.create(principal, notAfterMs);
    request.log.info(
      { event: 'console_sign_in', sub: principal.subject, via: principal.via },
      'console sign-in',
    );
    reply.header('set-cookie', cookie(s.id, o.sessionIdleSeconds, guard.secureCookie(request)));
    return reply.redirect('/console/approvals', 303);
  });

  scope.post('/logout', async (request, reply) => {
    const s = await guard.requirePost(request);
    await guard.sessions.end(s.id);
    reply.header('set-cookie', cookie('', 0, guard.secureCookie(request)));
    return reply.redirect('/console/login', 303);
  });
}
