import { html } from './html.ts';
import { layout, type PageContext } from './layout.ts';
import {
  AUDIT_QUERY_FIELDS,
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
} from './audit-client.ts';

const LABELS: Record<(typeof AUDIT_QUERY_FIELDS)[number], string> = {
  tool: 'Tool',
  subject: 'Subject',
  tenant: 'Tenant',
  outcome: 'Outcome',
  errorCode: 'Error code',
  since: 'Since',
  until: 'Until',
  requestId: 'Request id',
  invocationId: 'Invocation id',
  cursor: 'Cursor',
};

function query(q: AuditQuery, extra: Partial<AuditQuery> = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...q, ...extra })) if (v) p.set(k, v);
  return p.toString();
}

/** The search form and the matching audit records, newest first, each linking to its chain. */
export function decisionsPage(ctx: PageContext, q: AuditQuery, page: AuditPage): string {
  return layout(
    'Decisions',
    ctx,
    html`<h1>Decisions</h1>
      <form method="get" action="/console/decisions" class="card search">
        ${AUDIT_QUERY_FIELDS.filter((f) => f !== 'cursor').map(
          (f) =>
            html`<label
              >${LABELS[f]} <input type="text" name="${f}" value="${q[f] ?? ''}" maxlength="200"
            /></label>`,
        )}
        <button type="submit">Search</button>
      </form>
      <table class="list decisions">
        <thead>
          <tr>
            <th>Time</th>
            <th>Stage</th>
            <th>Outcome</th>
            <th>Tool</th>
            <th>Subject</th>
            <th>Tenant</th>
            <th>Request</th>
          </tr>
        </thead>
        <tbody>
          ${page.records.map(
            (r) =>
              html`<tr>
                <td><time datetime="${r.ts ?? ''}">${r.ts ?? ''}</time></td>
                <td>${whatOf(r)}</td>
                <td>${r.outcome ?? ''} ${r.errorCode ? html`<code>${r.errorCode}</code>` : ''}</td>
                <td>${r.toolId ?? ''}</td>
                <td>${r.subject ?? ''}</td>
                <td>${r.tenant ?? ''}</td>
                <td>
                  ${
                    r.requestId
                      ? html`<a href="/console/decisions/${r.requestId}"
                          >${r.requestId.slice(0, 12)}</a
                        >`
                      : ''
                  }
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${
        page.nextCursor
          ? html`<p>
              <a href="/console/decisions?${query(q, { cursor: page.nextCursor })}">Older →</a>
            </p>`
          : ''
      }`,
  );
}

const ORDER = ['claim', 'approval', 'run', 'outcome'];
function rank(r: AuditRecord): number {
  const s = `${r.kind ?? ''} ${r.stage ?? ''}`;
  const i = ORDER.findIndex((k) => s.includes(k));
  return i < 0 ? ORDER.length : i;
}

/** One decision's chain: the approval behind it (who, when), the claim, the run, the outcome. */
export function decisionDetailPage(
  ctx: PageContext,
  requestId: string,
  records: AuditRecord[],
): string {
  const chain = [...records].sort(
    (a, b) => rank(a) - rank(b) || String(a.ts).localeCompare(String(b.ts)),
  );
  return layout(
    'Decision',
    ctx,
    html`<p><a href="/console/decisions">← Decisions</a></p>
      <h1>Why was this allowed?</h1>
      <p class="muted">Request <code>${requestId}</code></p>
      ${
        chain.length === 0
          ? html`<p class="muted">No audit record for this request.</p>`
          : html`<ol class="chain">
              ${chain.map(
                (r) =>
                  html`<li class="card">
                    <strong>${whatOf(r)}</strong> — ${r.outcome ?? ''}
                    ${r.errorCode ? html`<code>${r.errorCode}</code>` : ''}
                    <dl class="meta">
                      ${Object.entries(r)
                        .filter(([, v]) => v !== undefined && v !== null && typeof v !== 'object')
                        .map(
                          ([k, v]) =>
                            html`<dt>${k}</dt>
                              <dd>${String(v)}</dd>`,
                        )}
                    </dl>
                    ${
                      r.approvalId
                        ? html`<p>
                            <a href="/console/approvals/${r.approvalId}"
                              >Approval ${r.approvalId}</a
                            >
                          </p>`
                        : ''
                    }
                  </li>`,
              )}
            </ol>`
      }`,
  );
}

/** What a record says happened, in words: an approval's decision, a claim's mint, a call's deciding stage. */
function whatOf(r: AuditRecord): string {
  if (r.kind === 'approval_decided') return `approval ${String(r.decision ?? 'decided')}`;
  if (typeof r.kind === 'string' && r.kind !== 'call') return r.kind.replace(/_/g, ' ');
  return String(r.stage ?? r.kind ?? 'event');
}
