import type { Principal } from '../identity/principal.ts';
import { html, type Html } from './html.ts';

export interface PageContext {
  principal?: Principal | undefined;
  csrf?: string | undefined;
  /** The policy lets approvers decide their own requests: said on every page. */
  selfApprovalAllowed: boolean;
  mayApprove: boolean;
  /** Whether an audit search is configured (the Decisions page). */
  decisions?: boolean;
  /** Whether this operator may see the Governors page. */
  governors?: boolean;
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
                    ${ctx.governors ? html`<a href="/console/governors">Governors</a>` : ''}
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

export function badge(risk: string | undefined): Html {
  return html`<span class="risk risk-${risk ?? 'unknown'}">${risk ?? '?'}</span>`;
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
