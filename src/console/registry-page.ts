import type { LoadedTool } from '../registry/registry.ts';
import { html } from './html.ts';
import { badge, layout, type PageContext } from './layout.ts';

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
