import { randomUUID } from 'node:crypto';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ERROR_META_KEY } from './results.ts';

/** A pending approval request a refused call names, with the console page a person approves it on. */
export interface ApprovalToOpen {
  approvalId: string;
  url: string;
  message: string;
}

/** How long a person may take on the console page before the elicitation is given up (the default approval lifetime). */
export const APPROVAL_ELICITATION_TIMEOUT_MS = 900_000;

/**
 * The approval request an `approval_required` result names, when it is
 * pending and has a console page: what a client that supports URL-mode
 * elicitation is sent to. Anything else (denied, expired, no console) stays
 * the plain error result.
 */
export function approvalToOpen(result: CallToolResult): ApprovalToOpen | undefined {
  if (!result.isError) return undefined;
  const error = result._meta?.[ERROR_META_KEY] as
    { code?: unknown; message?: unknown; details?: Record<string, unknown> } | undefined;
  const d = error?.details;
  if (error?.code !== 'approval_required' || !d) return undefined;
  if (d.status !== undefined && d.status !== 'pending') return undefined;
  if (typeof d.approvalId !== 'string' || typeof d.consoleUrl !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(d.consoleUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  return {
    approvalId: d.approvalId,
    url: url.href,
    message: `${typeof error.message === 'string' ? error.message : 'This call needs a human approval.'} Open the approval request ${d.approvalId} in the toolcage console; once it is approved the call runs.`,
  };
}

/**
 * The 2025-11-25 way (URL-mode elicitation, SEP-1036): a client that declared
 * `elicitation.url` is sent to the console page of the pending approval
 * request with `elicitation/create`; once the person has completed it there
 * (the client answers `accept`), the call is retried once and its result
 * returned, approved or not. Declined, cancelled, unsupported or failed: the
 * original `approval_required` result, so a plain retry still works. The
 * approval itself is the broker's durable record, never this exchange: a
 * client that answers `accept` without anybody approving gets the same refusal.
 */
export async function elicitApproval(options: {
  server: Pick<
    Server,
    'getClientCapabilities' | 'elicitInput' | 'createElicitationCompletionNotifier'
  >;
  result: CallToolResult;
  retry: () => Promise<CallToolResult>;
  signal?: AbortSignal;
}): Promise<CallToolResult> {
  const approval = approvalToOpen(options.result);
  if (!approval || !options.server.getClientCapabilities()?.elicitation?.url) return options.result;
  const elicitationId = `${approval.approvalId}.${randomUUID()}`;
  let action: string;
  try {
    ({ action } = await options.server.elicitInput(
      { mode: 'url', elicitationId, url: approval.url, message: approval.message },
      {
        timeout: APPROVAL_ELICITATION_TIMEOUT_MS,
        ...(options.signal ? { signal: options.signal } : {}),
      },
    ));
  } catch {
    return options.result;
  }
  if (action !== 'accept') return options.result;
  const retried = await options.retry();
  // The out-of-band interaction is over when the call ran: the client may close its prompt.
  if (!retried.isError)
    await options.server
      .createElicitationCompletionNotifier(elicitationId)()
      .catch(() => undefined);
  return retried;
}
