import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Broker } from '../broker/broker.ts';
import { mayDecide } from '../broker/approval-rules.ts';
import type { ApprovalRecord } from '../broker/approval-store.ts';
import type { Registry } from '../registry/registry.ts';
import type { Explanation } from '../broker/decision.ts';
import { toToolcageError } from '../errors/toolcage-error.ts';
import { detailPage, inboxPage, type ApproveOutlook, type InboxItem } from './approvals-page.ts';
import { formField, page, type ConsoleGuard } from './guard.ts';
import type { ConsoleSession } from './sessions.ts';

/**
 * The approvals inbox, one request's page, the poll that tells the inbox to
 * refresh, and the approve / deny forms. Every decision goes through the
 * broker's ApprovalService: the same rules as the API and the CLI.
 */
export function registerInboxRoutes(
  scope: FastifyInstance,
  o: { guard: ConsoleGuard; broker: Broker; registry: () => Registry },
): void {
  const { guard } = o;
  const svc = o.broker.approvals;
  /**
   * Whether pressing Approve would succeed: the decision the approve route
   * runs (role rule, self-approval, Cedar's `approve` action for this
   * approver and this request), run now without deciding anything.
   */
  const outlook = (s: ConsoleSession, r: ApprovalRecord): ApproveOutlook => {
    const trace: Partial<Explanation> = {};
    try {
      svc.explainApprove(s.principal, r, trace);
      return { ok: true };
    } catch (err) {
      return {
        ok: false,
        why: toToolcageError(err).message,
        policies: trace.cedar?.policies ?? [],
        errors: trace.cedar?.errors.map((e) => e.policyId) ?? [],
      };
    }
  };
  const item = (s: ConsoleSession, r: ApprovalRecord): InboxItem => {
    const decide = mayDecide(svc.rules, s.principal, r);
    return {
      view: svc.view(r),
      tool: o.registry().get(r.tool),
      decide,
      approve: decide.ok && r.status === 'pending' ? outlook(s, r) : undefined,
    };
  };
  const pendingVersion = (records: ApprovalRecord[]) =>
    createHash('sha256')
      .update(records.map((r) => r.id).join(','))
      .digest('hex')
      .slice(0, 16);

  scope.get('/approvals', async (request, reply) => {
    const s = await guard.sessionFor(request);
    if (!s) return reply.redirect('/console/login', 303);
    const pending = await svc.list(s.principal, { status: 'pending' });
    const recent = (await svc.list(s.principal, { limit: 100 })).filter(
      (r) => r.status !== 'pending',
    );
    const notice = (request.query as Record<string, string | undefined>).done;
    return page(
      reply,
      inboxPage(guard.ctxOf(s), {
        pending: pending.map((r) => item(s, r)),
        recent: recent.slice(0, 50).map((r) => item(s, r)),
        version: pendingVersion(pending),
        notice: notice === 'approved' || notice === 'denied' ? `Request ${notice}.` : undefined,
      }),
    );
  });

  scope.get('/api/inbox-version', async (request) => {
    const s = await guard.requireSession(request);
    const pending = await svc.list(s.principal, { status: 'pending' });
    return { version: pendingVersion(pending), pending: pending.length };
  });

  scope.get('/approvals/:id', async (request, reply) => {
    const s = await guard.sessionFor(request);
    if (!s) return reply.redirect('/console/login', 303);
    const r = await svc.show(s.principal, (request.params as { id: string }).id);
    return page(reply, detailPage(guard.ctxOf(s), item(s, r)));
  });

  for (const [action, decision] of [
    ['approve', 'approved'],
    ['deny', 'denied'],
  ] as const) {
    scope.post(`/approvals/:id/${action}`, async (request, reply) => {
      const s = await guard.requirePost(request);
      const { record } = await svc.decide({
        actor: s.principal,
        id: (request.params as { id: string }).id,
        decision,
        reason: formField(request.body, 'reason'),
        // An unchecked checkbox sends nothing: the approval holds in the request's session only.
        anySession: decision === 'approved' && formField(request.body, 'anySession') === 'on',
        requestId: request.id,
      });
      return reply.redirect(`/console/approvals?done=${record.status}`, 303);
    });
  }
}
