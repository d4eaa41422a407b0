import type { FastifyRequest } from 'fastify';

const SESSION_HEADER = 'toolcage-session';

/** The caller's session, from the `Toolcage-Session` header (the broker validates its form). */
export function sessionOf(request: FastifyRequest): { session?: string } {
  const h = request.headers[SESSION_HEADER];
  if (h === undefined) return {};
  return { session: Array.isArray(h) ? h.join(',') : h };
}
