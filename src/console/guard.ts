import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Broker } from '../broker/broker.ts';
import { isAnyApprover } from '../broker/approval-rules.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { Principal } from '../identity/principal.ts';
import type { PageContext } from './layout.ts';
import { ConsoleSessions, type ConsoleSession } from './sessions.ts';

export const COOKIE = 'toolcage_console';

function cookieOf(request: FastifyRequest): string | undefined {
  const raw = request.headers.cookie;
  if (!raw) return undefined;
  for (const part of raw.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

export function formField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Who may do what in the console, in one place: the session behind a
 * request's cookie, the CSRF and origin checks of every state-changing
 * request, and the role questions the pages ask (approver, viewer, tenants).
 */
export class ConsoleGuard {
  readonly sessions: ConsoleSessions;
  readonly #broker: Broker;
  readonly #publicUrl: string | undefined;
  readonly #features: { decisions: boolean; governors: boolean };

  constructor(o: {
    broker: Broker;
    sessions: ConsoleSessions;
    publicUrl?: string | undefined;
    features: { decisions: boolean; governors: boolean };
  }) {
    this.#broker = o.broker;
    this.sessions = o.sessions;
    this.#publicUrl = o.publicUrl;
    this.#features = o.features;
  }

  get #rules() {
    return this.#broker.approvals.rules;
  }

  ctxOf(session?: ConsoleSession): PageContext {
    return {
      principal: session?.principal,
      csrf: session?.csrf,
      selfApprovalAllowed: this.#rules.policy.allowSelfApproval,
      mayApprove: session ? isAnyApprover(this.#rules, session.principal) : false,
      decisions:
        this.#features.decisions && session !== undefined && this.isOperator(session.principal),
      governors:
        this.#features.governors && session !== undefined && this.isOperator(session.principal),
    };
  }

  /** Approvers and viewers: they read the audit trail and governor state of their tenants; requesters do not. */
  isOperator(p: Principal): boolean {
    return (
      isAnyApprover(this.#rules, p) || p.roles.some((r) => this.#rules.viewerRoles.includes(r))
    );
  }

  isApprover(p: Principal): boolean {
    return isAnyApprover(this.#rules, p);
  }

  /** The tenants a principal sees; undefined for every tenant. */
  tenantsOf(p: Principal): Set<string> | undefined {
    return p.tenants.includes('*') ? undefined : new Set(p.tenants);
  }

  secureCookie(request: FastifyRequest): boolean {
    return request.protocol === 'https' || (this.#publicUrl?.startsWith('https:') ?? false);
  }

  /** A cross-site request: the browser says so (Sec-Fetch-Site) or its Origin is not this host. */
  crossSite(request: FastifyRequest): boolean {
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
    const origin = request.headers.origin;
    if (origin === undefined) return false;
    const own = new Set([`${request.protocol}://${request.host}`]);
    if (this.#publicUrl) own.add(new URL(this.#publicUrl).origin);
    return !own.has(origin);
  }

  csrfRefusal(): ToolcageError {
    return new ToolcageError('policy_denied', {
      message:
        'Cross-site or token-less form post refused (CSRF protection). Use the console page itself.',
    });
  }

  cookie(request: FastifyRequest): string | undefined {
    return cookieOf(request);
  }

  /** The signed-in session, or undefined (pages then redirect to sign in). */
  sessionFor(request: FastifyRequest): Promise<ConsoleSession | undefined> {
    return this.sessions.get(cookieOf(request));
  }

  async requireSession(request: FastifyRequest): Promise<ConsoleSession> {
    const s = await this.sessionFor(request);
    if (!s)
      throw new ToolcageError('unauthenticated', {
        message: 'Your console session has ended (or never began); sign in again.',
      });
    return s;
  }

  /** A state-changing request: signed in, same origin, carrying the session's CSRF token. */
  async requirePost(request: FastifyRequest): Promise<ConsoleSession> {
    if (this.crossSite(request)) throw this.csrfRefusal();
    const s = await this.requireSession(request);
    const token = formField(request.body, 'csrf') ?? request.headers['x-csrf-token'];
    if (!ConsoleSessions.csrfMatches(s, token)) throw this.csrfRefusal();
    return s;
  }
}

export function page(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('text/html; charset=utf-8').send(body);
}
