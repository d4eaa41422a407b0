import type { GovernorReport, TenantGovernorReport, WindowReport } from '../governors/report.ts';
import { html, type Html } from './html.ts';
import { layout, type PageContext } from './layout.ts';

const GOVERNOR_SOURCE: Record<string, string> = {
  redis:
    'Redis, shared by every runner replica: what this page shows is what every replica decides with.',
  memory:
    "this broker process's memory. With state.stores: sqlite each process keeps rate, spend and loop state in its own memory, and the broker service runs no tools: when the runner (toolcage serve) runs in another process, its state is not visible here. Set state.stores: redis to see every replica's state.",
};
const PAUSE_SOURCE: Record<string, string> = {
  sqlite: "the workspace's SQLite state file, shared by every toolcage process on this machine.",
  redis: 'Redis, shared by every replica.',
  memory: "this process's memory.",
};

function windowText(w: WindowReport, unit: string): Html {
  return html`<meter min="0" max="${w.budget}" value="${w.spent}"></meter>
    ${w.spent} of ${w.budget} ${unit}
    <span class="muted"
      >(window ${w.windowSeconds} s, resets
      <time class="countdown" datetime="${w.resetsAt}">${w.resetsAt}</time>)</span
    >`;
}

function resumeForm(t: string, session: string, csrf: string): Html {
  return html`<form
    method="post"
    action="/console/governors/sessions/${encodeURIComponent(session)}/resume"
    class="inline"
  >
    <input type="hidden" name="csrf" value="${csrf}" />
    <input type="hidden" name="tenant" value="${t}" />
    <button type="submit" class="resume" data-session="${session}">Resume</button>
  </form>`;
}

function tenantSection(t: TenantGovernorReport, ctx: PageContext, mayResume: boolean): Html {
  return html`<section class="card governors" data-tenant="${t.tenant}">
    <h2>Tenant <code>${t.tenant}</code></h2>
    <h3>Spend</h3>
    <p class="spend">
      ${t.spend ? windowText(t.spend, 'units') : html`<span class="muted">nothing spent in this window</span>`}
    </p>
    <h3>Rate limits</h3>
    ${
      t.rate.length === 0
        ? html`<p class="muted">Every bucket is full.</p>`
        : html`<table class="list rate">
            <thead>
              <tr>
                <th>Limit</th>
                <th>For</th>
                <th>Tokens left</th>
                <th>Burst</th>
                <th>Refill /s</th>
                <th>Full again</th>
              </tr>
            </thead>
            <tbody>
              ${t.rate.map(
                (b) =>
                  html`<tr>
                    <td>${b.limit}</td>
                    <td>${b.id ?? html`<span class="muted">whole tenant</span>`}</td>
                    <td class="num">
                      <meter min="0" max="${b.capacity}" value="${b.tokens}"></meter> ${b.tokens}
                    </td>
                    <td class="num">${b.capacity}</td>
                    <td class="num">${b.refillPerSecond}</td>
                    <td><time class="countdown" datetime="${b.fullAt}">${b.fullAt}</time></td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    <h3>Loop guard</h3>
    ${
      t.loops.length === 0
        ? html`<p class="muted">No repeated calls in the window.</p>`
        : html`<table class="list loops">
            <thead>
              <tr>
                <th>Principal</th>
                <th>Tool</th>
                <th>Args hash</th>
                <th>Identical calls</th>
                <th>Clears</th>
              </tr>
            </thead>
            <tbody>
              ${t.loops.map(
                (l) =>
                  html`<tr class="${l.count >= l.maxRepeats ? 'tripped' : ''}">
                    <td>${l.principal}</td>
                    <td>${l.tool}</td>
                    <td><code>${l.argsHash.slice(0, 16)}</code></td>
                    <td class="num">
                      ${l.count} of ${l.maxRepeats}
                      <span class="muted">in ${l.windowSeconds} s</span>
                    </td>
                    <td><time class="countdown" datetime="${l.clearsAt}">${l.clearsAt}</time></td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    <h3>Sessions</h3>
    ${
      t.sessions.length === 0
        ? html`<p class="muted">No session spent anything in this window.</p>`
        : html`<table class="list sessions">
            <thead>
              <tr>
                <th>Session</th>
                <th>Spend</th>
                <th>Calls</th>
              </tr>
            </thead>
            <tbody>
              ${t.sessions.map(
                (s) =>
                  html`<tr>
                    <td><code>${s.session}</code></td>
                    <td>${s.spend ? windowText(s.spend, 'units') : ''}</td>
                    <td>${s.calls ? windowText(s.calls, 'calls') : ''}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    <h3>Paused sessions</h3>
    ${
      t.paused.length === 0
        ? html`<p class="muted">No session is paused.</p>`
        : html`<table class="list paused">
            <thead>
              <tr>
                <th>Session</th>
                <th>Paused</th>
                <th>Last failure</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              ${t.paused.map(
                (p) =>
                  html`<tr data-session="${p.session}">
                    <td><code>${p.session}</code></td>
                    <td><time datetime="${p.pausedAt}">${p.pausedAt}</time></td>
                    <td><code>${p.reason}</code></td>
                    <td>
                      ${
                        mayResume
                          ? resumeForm(t.tenant, p.session, ctx.csrf ?? '')
                          : html`<span class="muted">an approver may resume it</span>`
                      }
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
  </section>`;
}

/** Rate, spend, loop-guard and breaker state per tenant, saying where each comes from. */
export function governorsPage(
  ctx: PageContext,
  report: GovernorReport,
  o: { mayResume: boolean; notice?: string | undefined },
): string {
  const g = report.governors;
  return layout(
    'Governors',
    ctx,
    html`<h1>Governors</h1>
      ${o.notice ? html`<p class="banner ok" role="status">${o.notice}</p>` : ''}
      <div class="card source">
        <p>
          As of <time datetime="${report.at}">${report.at}</time>. Rate, spend and loop state:
          ${g.reportable ? (GOVERNOR_SOURCE[g.store] ?? `the ${g.store} store.`) : `the ${g.store} store cannot report its state.`}
        </p>
        <p>
          Paused sessions:
          ${report.pauses.reportable ? (PAUSE_SOURCE[report.pauses.store] ?? `the ${report.pauses.store} store.`) : `the ${report.pauses.store} store cannot list them.`}
        </p>
        ${report.truncated ? html`<p class="banner warn">More state than one page shows: this view is partial. Filter by tenant.</p>` : ''}
      </div>
      <form method="get" action="/console/governors" class="card search">
        <label>Tenant <input type="text" name="tenant" maxlength="128" /></label>
        <button type="submit">Show</button>
      </form>
      ${
        report.tenants.length === 0
          ? html`<p class="muted empty">
              No governor holds state for your tenants: every bucket is full, nothing is spent in
              this window, no call repeats, no session is paused.
            </p>`
          : report.tenants.map((t) => tenantSection(t, ctx, o.mayResume))
      }`,
  );
}
