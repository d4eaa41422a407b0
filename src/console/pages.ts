import type { ApprovalView } from '../broker/approval-view.ts';
import type { Principal } from '../identity/principal.ts';
import type { LoadedTool } from '../registry/registry.ts';
import { html, type Html } from './html.ts';
import { editsDiff, jsonTree } from './render-args.ts';

export interface PageContext {
  principal?: Principal | undefined;
  csrf?: string | undefined;
  /** The policy lets approvers decide their own requests: said on every page. */
  selfApprovalAllowed: boolean;
  mayApprove: boolean;
  /** Whether an audit search is configured (the Decisions page). */
  decisions?: boolean;
}

/** The frame of every page: one stylesheet and one script from /console/static, nothing inline (CSP). */
export function layout(title: string, ctx: PageContext, body: Html): string {
  const p = ctx.principal;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · toolcage console</title>
        <link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/console/static/console.css" />
        <script src="/console/static/console.js" defer></script>
      </head>
      <body>
        <header class="top">
          <strong class="brand">toolcage</strong>
          ${
            p
              ? html`<nav>
                    <a href="/console/approvals">Approvals</a>
                    ${ctx.decisions ? html`<a href="/console/decisions">Decisions</a>` : ''}
                    <a href="/console/registry">Registry</a>
                  </nav>
                  <span class="who"
                    >${p.subject}
                    <span class="muted"
                      >(${p.roles.join(', ') || 'no roles'}) · tenants
                      ${p.tenants.join(', ')}${ctx.mayApprove ? '' : ' · read-only'}</span
                    ></span
                  >
                  <form method="post" action="/console/logout" class="inline">
                    <input type="hidden" name="csrf" value="${ctx.csrf}" />
                    <button type="submit" class="link">Sign out</button>
                  </form>`
              : ''
          }
        </header>
        ${
          ctx.selfApprovalAllowed
            ? html`<p class="banner warn" role="status">
                Dev workspace: this broker's policy sets <code>allowSelfApproval</code>, so an
                approver may approve their own requests. Remove it for a shared deployment.
              </p>`
            : ''
        }
        <main>${body}</main>
      </body>
    </html>`.value;
}

export function loginPage(ctx: PageContext, error?: string): string {
  return layout(
    'Sign in',
    ctx,
    html`<h1>Sign in</h1>
      ${error ? html`<p class="banner error" role="alert">${error}</p>` : ''}
      <form method="post" action="/console/login" class="card">
        <label for="credential">API key or OIDC identity token</label>
        <textarea id="credential" name="credential" rows="4" required autocomplete="off"></textarea>
        <button type="submit">Sign in</button>
        <p class="muted">
          Exchanged once for a session cookie (HttpOnly, SameSite=Strict); the credential itself is
          not kept.
        </p>
      </form>`,
  );
}

function badge(risk: string | undefined): Html {
  return html`<span class="risk risk-${risk ?? 'unknown'}">${risk ?? '?'}</span>`;
}

function toolFacts(tool: LoadedTool | undefined): Html {
  if (!tool) return html`<span class="muted">tool no longer in the registry</span>`;
  const m = tool.manifest;
  return html`<span class="facts"
    >scopes ${m.scopes.join(', ') || 'none'} · lanes
    ${m.credentials.map((c) => c.lane).join(', ') || 'none'}</span
  >`;
}

export interface InboxItem {
  view: ApprovalView;
  tool: LoadedTool | undefined;
  /** Whether this operator may decide it, and whether that is a self-approval. */
  decide: { ok: true; self: boolean } | { ok: false; why: string };
}

function decisionForms(item: InboxItem, csrf: string): Html {
  const v = item.view;
  if (v.status !== 'pending') return html``;
  if (!item.decide.ok) return html`<p class="muted decide-why">${item.decide.why}</p>`;
  return html`<div class="decide">
    <form method="post" action="/console/approvals/${v.id}/approve" class="inline">
      <input type="hidden" name="csrf" value="${csrf}" />
      <button type="submit" class="approve" data-action="approve">
        Approve${item.decide.self ? ' (self-approval)' : ''}
      </button>
    </form>
    <form method="post" action="/console/approvals/${v.id}/deny" class="inline deny-form">
      <input type="hidden" name="csrf" value="${csrf}" />
      <input
        type="text"
        name="reason"
        required
        maxlength="1000"
        placeholder="Reason (shown to the agent)"
        aria-label="Reason for denying"
      />
      <button type="submit" class="deny" data-action="deny">Deny</button>
    </form>
  </div>`;
}

/** One request as a card: who, what tool, where, when, the arguments for a human, and the decision. */
export function approvalCard(item: InboxItem, csrf: string): Html {
  const v = item.view;
  const diff = v.args !== undefined ? editsDiff(v.args) : undefined;
  return html`<article class="card approval status-${v.status}" id="${v.id}" data-id="${v.id}">
    <header>
      <a href="/console/approvals/${v.id}" class="tool">${v.tool}</a
      ><span class="muted">@${v.toolVersion ?? '?'}</span> ${badge(v.risk)}
      <span class="status">${v.status}</span>
    </header>
    <dl class="meta">
      <dt>Requested by</dt>
      <dd>${v.subject} <span class="muted">via ${v.requestedVia ?? '?'}</span></dd>
      <dt>Tenant</dt>
      <dd>${v.tenant}</dd>
      <dt>Session</dt>
      <dd>
        ${
          v.anySession
            ? 'any session'
            : html`${v.session ? html`<code>${v.session}</code>` : 'none'}
                <span class="muted">(the approval holds only there)</span>`
        }
      </dd>
      <dt>Tool</dt>
      <dd>${toolFacts(item.tool)}</dd>
      <dt>Asked</dt>
      <dd><time datetime="${v.createdAt}">${v.createdAt}</time></dd>
      <dt>Expires</dt>
      <dd>
        <time class="countdown" datetime="${v.expiresAt}">${v.expiresAt}</time>
      </dd>
      ${
        v.decidedBy
          ? html`<dt>Decided</dt>
              <dd>
                ${v.status === 'used' ? 'approved' : v.status} by ${v.decidedBy}
                ${v.decidedAt ? html`at <time datetime="${v.decidedAt}">${v.decidedAt}</time>` : ''}
              </dd>`
          : ''
      }
      ${
        v.reason
          ? html`<dt>Reason</dt>
              <dd class="reason">${v.reason}</dd>`
          : ''
      }
      <dt>Args hash</dt>
      <dd><code>${v.argsHash}</code></dd>
    </dl>
    <section class="args">
      <h3>What it will do</h3>
      ${
        v.args === undefined
          ? html`<p class="muted">The arguments were not stored (an older request).</p>`
          : diff
            ? html`${diff}
                <details>
                  <summary>All arguments</summary>
                  ${jsonTree(v.args)}
                </details>`
            : jsonTree(v.args)
      }
    </section>
    ${decisionForms(item, csrf)}
  </article>`;
}

export function inboxPage(
  ctx: PageContext,
  o: { pending: InboxItem[]; recent: InboxItem[]; version: string; notice?: string | undefined },
): string {
  return layout(
    'Approvals',
    ctx,
    html`<h1>Approvals</h1>
      ${o.notice ? html`<p class="banner ok" role="status">${o.notice}</p>` : ''}
      <p class="banner info" id="new-requests" hidden>
        New requests arrived. <a href="/console/approvals">Refresh</a>
      </p>
      <section id="inbox" data-version="${o.version}">
        <h2>Pending <span class="count">${o.pending.length}</span></h2>
        ${
          o.pending.length
            ? o.pending.map((i) => approvalCard(i, ctx.csrf ?? ''))
            : html`<p class="muted empty">Nothing waits for a decision.</p>`
        }
      </section>
      <section>
        <h2>Recent</h2>
        <table class="list">
          <thead>
            <tr>
              <th>Status</th>
              <th>Tool</th>
              <th>Subject</th>
              <th>Tenant</th>
              <th>Asked</th>
              <th>Decided by</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            ${o.recent.map(
              ({ view: v }) =>
                html`<tr>
                  <td><span class="status status-${v.status}">${v.status}</span></td>
                  <td><a href="/console/approvals/${v.id}">${v.tool}</a> ${badge(v.risk)}</td>
                  <td>${v.subject}</td>
                  <td>${v.tenant}</td>
                  <td><time datetime="${v.createdAt}">${v.createdAt}</time></td>
                  <td>${v.decidedBy ?? ''}</td>
                  <td>${v.reason ?? ''}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </section>`,
  );
}

export function detailPage(ctx: PageContext, item: InboxItem): string {
  return layout(
    `Approval ${item.view.id}`,
    ctx,
    html`<p><a href="/console/approvals">← Approvals</a></p>
      <h1>Approval request</h1>
      <p class="muted"><code>${item.view.id}</code></p>
      ${approvalCard(item, ctx.csrf ?? '')}`,
  );
}

export interface LockFacts {
  signer?: string | undefined;
  date?: string | undefined;
}

export function registryPage(ctx: PageContext, tools: LoadedTool[], lock: LockFacts): string {
  return layout(
    'Registry',
    ctx,
    html`<h1>Registry</h1>
      <p class="card">
        Lock signed by key <code>${lock.signer ?? 'unsigned'}</code>, written
        <time datetime="${lock.date ?? ''}">${lock.date ?? 'unknown'}</time>. Only the tools below
        can run; each is pinned by the hashes shown.
      </p>
      <table class="list registry">
        <thead>
          <tr>
            <th>Tool</th>
            <th>Version</th>
            <th>Risk</th>
            <th>Runtime</th>
            <th>Scopes</th>
            <th>Credential lanes</th>
            <th>Egress hosts</th>
            <th>Pins (manifest / artifact sha256)</th>
          </tr>
        </thead>
        <tbody>
          ${tools.map((t) => {
            const m = t.manifest;
            const egress = m.network === 'none' ? [] : m.network.egress;
            return html`<tr>
              <td><strong>${m.id}</strong><br /><span class="muted">${m.description}</span></td>
              <td>${m.version}</td>
              <td>${badge(m.risk)}</td>
              <td>${m.runtime}</td>
              <td>${m.scopes.join(', ') || '—'}</td>
              <td>${m.credentials.map((c) => `${c.lane} (${c.expose})`).join(', ') || '—'}</td>
              <td>${egress.map((e) => `${e.host}:${e.port}`).join(', ') || 'none'}</td>
              <td class="pins">
                <code>${t.manifestSha256.slice(0, 16)}…</code><br /><code
                  >${t.artifactSha256.slice(0, 16)}…</code
                >
              </td>
            </tr>`;
          })}
        </tbody>
      </table>`,
  );
}

export function errorPage(ctx: PageContext, status: number, code: string, message: string): string {
  return layout(
    'Refused',
    ctx,
    html`<h1>${status === 403 ? 'Refused' : 'Error'}</h1>
      <p class="banner error" role="alert"><code>${code}</code> ${message}</p>
      <p><a href="/console/approvals">Back to approvals</a></p>`,
  );
}
