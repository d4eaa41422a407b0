/**
 * The 2025-era sessions of the MCP Streamable HTTP edge: one SDK v1 server
 * and transport per `initialize`, owned by the subject that opened it, capped
 * in total and per subject, and closed when idle. Nothing that protects a
 * call depends on a session (claims, approvals and governors are the
 * executor's); the caps and the expiry only keep one identity from taking
 * every slot (issue 16, item 7).
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Principal } from './claim-provider.ts';
import type { McpSessions } from './sessions.ts';

export interface Session {
  transport: StreamableHTTPServerTransport;
  /** A session belongs to the subject that opened it (MCP security best practices: bind session ids to the user). */
  sub: string;
  /** When its last request ended (or began, while `active`); idle expiry counts from here. */
  lastSeen: number;
  /** POSTs in flight (a long tool call is not idleness); open GET streams do not count. */
  active: number;
}

export interface SessionTableOptions {
  service: McpSessions;
  maxSessions: number;
  maxPerSubject: number;
  idleMs: number;
  /** The Host values DNS-rebinding protection accepts (known once listening). */
  allowedHosts: () => string[];
}

/** Why a new session was refused: the HTTP status, a Retry-After in seconds, and what to do. */
export interface SessionRefusal {
  status: 429 | 503;
  retryAfterSeconds: number;
  message: string;
}

export class SessionTable {
  readonly #o: SessionTableOptions;
  readonly #sessions = new Map<string, Session>();
  /** Open sessions per subject (a Map: subjects are token-chosen strings). */
  readonly #perSubject = new Map<string, number>();
  readonly #sweep: NodeJS.Timeout;

  constructor(options: SessionTableOptions) {
    this.#o = options;
    // Idle expiry: without it a session lives until restart, and the caps would be reached for good.
    this.#sweep = setInterval(
      () => {
        const now = Date.now();
        for (const [id, s] of this.#sessions) {
          if (s.active > 0 || now - s.lastSeen < options.idleMs) continue;
          this.#forget(id);
          void s.transport.close().catch(() => undefined);
        }
      },
      Math.max(50, Math.min(30_000, Math.floor(options.idleMs / 4))),
    );
    this.#sweep.unref();
  }

  /** Whether `sub` may open one more session now; the refusal otherwise. */
  refusal(sub: string): SessionRefusal | undefined {
    const { maxPerSubject, maxSessions, idleMs } = this.#o;
    if ((this.#perSubject.get(sub) ?? 0) >= maxPerSubject)
      return {
        status: 429,
        retryAfterSeconds: Math.ceil(Math.min(idleMs, 60_000) / 1000),
        message: `Too many open MCP sessions for this identity (${maxPerSubject}). Close one (DELETE /mcp with its mcp-session-id) or wait for an idle one to expire after ${Math.round(idleMs / 1000)} s.`,
      };
    if (this.#sessions.size >= maxSessions)
      return {
        status: 503,
        retryAfterSeconds: 30,
        message: 'Too many MCP sessions; retry later.',
      };
    return undefined;
  }

  /** A new session's transport for `sub`, its server connected; registered once `initialize` succeeds. */
  async open(sub: string): Promise<StreamableHTTPServerTransport> {
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Plain JSON answers to POSTs (no SSE per call); notifications go over the session's GET stream.
      enableJsonResponse: true,
      enableDnsRebindingProtection: true,
      allowedHosts: this.#o.allowedHosts(),
      onsessioninitialized: (id) => {
        this.#sessions.set(id, { transport, sub, lastSeen: Date.now(), active: 0 });
        this.#perSubject.set(sub, (this.#perSubject.get(sub) ?? 0) + 1);
      },
      onsessionclosed: (id) => {
        this.#forget(id);
      },
    });
    const server = this.#o.service.createServer(
      (extra) => extra.authInfo?.extra?.principal as Principal | undefined,
    );
    // The SDK chains this with the server's own close handling (which unregisters it from reloads).
    transport.onclose = () => {
      if (transport.sessionId) this.#forget(transport.sessionId);
    };
    await server.connect(transport);
    return transport;
  }

  /** The session `id` if `sub` owns it: another subject's id is answered exactly like an unknown one. */
  owned(id: string, sub: string): Session | undefined {
    const s = this.#sessions.get(id);
    return s && s.sub === sub ? s : undefined;
  }

  /** Marks the session busy until the response ends. */
  async track(session: Session, res: ServerResponse, fn: () => Promise<void>): Promise<void> {
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

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    await Promise.allSettled([...this.#sessions.values()].map((s) => s.transport.close()));
    this.#sessions.clear();
    this.#perSubject.clear();
  }

  #forget(id: string): void {
    const s = this.#sessions.get(id);
    if (!s) return;
    this.#sessions.delete(id);
    const left = (this.#perSubject.get(s.sub) ?? 1) - 1;
    if (left > 0) this.#perSubject.set(s.sub, left);
    else this.#perSubject.delete(s.sub);
  }
}
