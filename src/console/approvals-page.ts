import type { ApprovalView } from '../broker/approval-view.ts';
import type { LoadedTool } from '../registry/registry.ts';
import { html, type Html } from './html.ts';
import { badge, layout, type PageContext } from './layout.ts';
import { editsDiff, jsonTree } from './render-args.ts';

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
  /** Whether this operator may decide it (the role rule: approve or deny), and whether that is a self-approval. */
  decide: { ok: true; self: boolean } | { ok: false; why: string };
  /**
   * For a pending request this operator may decide: whether approving it would
   * be allowed (the role rule and Cedar's `approve` action, the very decision
   * pressing Approve runs), else the refusal and the policies that decided it.
   */
  approve?: ApproveOutlook | undefined;
}

export type ApproveOutlook =
  { ok: true } | { ok: false; why: string; policies: string[]; errors: string[] };

function approveRefusal(a: Extract<ApproveOutlook, { ok: false }>): Html {
  const ids = a.errors.length > 0 ? a.errors : a.policies;
  return html`<div class="banner warn approve-refused" role="note">
    <p><strong>You cannot approve this request.</strong> ${a.why}</p>
    <p class="muted">
      ${
        a.errors.length > 0
          ? 'Policies that could not be evaluated: '
          : ids.length > 0
            ? 'Deciding policies: '
            : 'No policy permits it (deny by default).'
      }
      ${ids.map((id) => html`<code class="policy-id">${id}</code> `)}
    </p>
  </div>`;
}

function approveForm(item: InboxItem, csrf: string): Html {
  const v = item.view;
  const self = item.decide.ok && item.decide.self;
  return html`<form
    method="post"
    action="/console/approvals/${v.id}/approve"
    class="inline approve-form"
  >
    <input type="hidden" name="csrf" value="${csrf}" />
    <button type="submit" class="approve" data-action="approve">
      Approve${self ? ' (self-approval)' : ''}
    </button>
    <label class="any-session">
      <input type="checkbox" name="anySession" value="on" />
      for any session
      <span class="muted"
        >(off: the approval holds only
        ${v.session ? html`in session <code>${v.session}</code>` : 'for calls outside any session'},
        where the agent asked; on: ${v.subject} may also use it from another session, by citing this
        request's id, for the same tool and arguments in ${v.tenant}; still once)</span
      >
    </label>
  </form>`;
}

function decisionForms(item: InboxItem, csrf: string): Html {
  const v = item.view;
  if (v.status !== 'pending') return html``;
  if (!item.decide.ok) return html`<p class="muted decide-why">${item.decide.why}</p>`;
  const approve = item.approve ?? { ok: true };
  return html`<div class="decide">
    ${!approve.ok ? approveRefusal(approve) : approveForm(item, csrf)}
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
