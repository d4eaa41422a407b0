import { describe, expect, it } from 'vitest';
import { approvalToOpen } from '../../src/mcp/approval-prompts.ts';
import { errorResult } from '../../src/mcp/results.ts';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';

const refusal = (
  details: Record<string, unknown>,
  code: 'approval_required' | 'policy_denied' = 'approval_required',
) =>
  errorResult(
    new ToolcageError(code, { message: 'needs approval', details }),
    'req_1',
    'repo.apply_patch',
  );

describe('which refusals send a client to the console page', () => {
  it('a pending approval request with an http(s) console page', () => {
    expect(
      approvalToOpen(
        refusal({
          approvalId: 'apr_1',
          status: 'pending',
          consoleUrl: 'https://c.test/console/approvals/apr_1',
        }),
      ),
    ).toMatchObject({ approvalId: 'apr_1', url: 'https://c.test/console/approvals/apr_1' });
  });

  it('never a denied or expired request, a request without a console, another refusal, or a non-http URL', () => {
    const url = 'https://c.test/console/approvals/apr_1';
    expect(
      approvalToOpen(refusal({ approvalId: 'apr_1', status: 'denied', consoleUrl: url })),
    ).toBeUndefined();
    expect(
      approvalToOpen(refusal({ approvalId: 'apr_1', status: 'expired', consoleUrl: url })),
    ).toBeUndefined();
    expect(approvalToOpen(refusal({ approvalId: 'apr_1', status: 'pending' }))).toBeUndefined();
    expect(
      approvalToOpen(refusal({ approvalId: 'apr_1', consoleUrl: url }, 'policy_denied')),
    ).toBeUndefined();
    expect(
      approvalToOpen(
        refusal({ approvalId: 'apr_1', status: 'pending', consoleUrl: 'javascript:alert(1)' }),
      ),
    ).toBeUndefined();
  });
});
