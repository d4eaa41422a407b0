import { Command } from 'commander';
import type {
  ApprovalFilter,
  ApprovalRecord,
  ApprovalStatus,
} from '../../broker/approval-store.ts';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import type { BrokerRuntime } from '../../runtime/broker.ts';
import { createBrokerRuntime } from '../lazy.ts';
import { cliActor, selfApprovalNotice } from '../approval-actor.ts';
import { action, configFrom, printJson } from '../io.ts';

const STATUSES: ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'used'];

interface Common {
  config: string;
  by?: string;
}

async function withRuntime<T>(opts: Common, fn: (rt: BrokerRuntime, by: string) => Promise<T>) {
  const loaded = configFrom(opts);
  const rt = await createBrokerRuntime(loaded);
  try {
    return await fn(rt, opts.by ?? loaded.config.subject);
  } finally {
    await rt.close();
  }
}

/** Decides as the CLI operator, under the same rules as every other path; prints the request. */
export async function decideFromCli(
  rt: BrokerRuntime,
  o: {
    id: string;
    by: string;
    decision: 'approved' | 'denied';
    reason?: string | undefined;
    /** Let the approval be used in any session, not only the request's own. */
    anySession?: boolean | undefined;
    /** `id`: print only the id (what `broker approve` always printed). */
    print?: 'json' | 'id';
  },
): Promise<ApprovalRecord> {
  const { record, selfApproved } = await rt.broker.approvals.decide({
    actor: cliActor(rt.policy, o.by),
    id: o.id,
    decision: o.decision,
    reason: o.reason,
    anySession: o.anySession,
  });
  process.stderr.write(selfApprovalNotice(selfApproved));
  if (o.print === 'id') process.stdout.write(`${record.id}\n`);
  else printJson(rt.broker.approvals.view(record));
  return record;
}

function statusOf(value: string | undefined): ApprovalStatus | undefined {
  if (value === undefined) return undefined;
  if (!STATUSES.includes(value as ApprovalStatus))
    throw new ToolcageError('request_invalid', {
      message: `--status must be one of ${STATUSES.join(', ')}, got ${value.slice(0, 50)}`,
    });
  return value as ApprovalStatus;
}

/** `toolcage approvals list|show|approve|deny`: the approval inbox from a terminal. */
export function approvalsCommand(): Command {
  const cmd = new Command('approvals').description(
    'List, show, approve or deny approval requests of high-risk calls (the same rules as the console and HTTP API)',
  );
  const common = (c: Command) =>
    c
      .option(
        '--by <subject>',
        'who acts (default: the config subject); roles from policy principals',
      )
      .option('--config <file>', 'config file', 'toolcage.config.yaml');
  common(
    cmd
      .command('list')
      .description('Approval requests, newest first (pending ones first with --status pending)')
      .option('--status <status>', STATUSES.join('|'))
      .option('--tool <id>', 'only this tool')
      .option('--tenant <tenant>', 'only this tenant')
      .option('--subject <subject>', 'only requests of this subject'),
  ).action(
    action(
      async (
        opts: Common & { status?: string; tool?: string; tenant?: string; subject?: string },
      ) =>
        withRuntime(opts, async (rt, by) => {
          const status = statusOf(opts.status);
          const filter: ApprovalFilter = {
            ...(status ? { status } : {}),
            ...(opts.tool ? { tool: opts.tool } : {}),
            ...(opts.tenant ? { tenant: opts.tenant } : {}),
            ...(opts.subject ? { subject: opts.subject } : {}),
          };
          const records = await rt.broker.approvals.list(cliActor(rt.policy, by), filter);
          printJson(
            records.map((r) => {
              const { args: _args, ...rest } = rt.broker.approvals.view(r);
              return rest;
            }),
          );
        }),
    ),
  );
  common(
    cmd
      .command('show')
      .description('One request, with its exact arguments (sensitive fields masked)')
      .argument('<id>', 'approval id (apr_...)'),
  ).action(
    action(async (id: string, opts: Common) =>
      withRuntime(opts, async (rt, by) =>
        printJson(
          rt.broker.approvals.view(await rt.broker.approvals.show(cliActor(rt.policy, by), id)),
        ),
      ),
    ),
  );
  common(
    cmd
      .command('approve')
      .description('Approve a pending request (in its own session only, unless --any-session)')
      .argument('<id>', 'approval id')
      .option('--any-session', 'let the approval be used in any session'),
  ).action(
    action(async (id: string, opts: Common & { anySession?: boolean }) =>
      withRuntime(opts, async (rt, by) => {
        await decideFromCli(rt, {
          id,
          by,
          decision: 'approved',
          anySession: opts.anySession === true,
        });
      }),
    ),
  );
  common(
    cmd
      .command('deny')
      .description('Deny a pending request; the reason is shown to the agent')
      .argument('<id>', 'approval id')
      .requiredOption('--reason <text>', 'why (shown to the agent that asked)'),
  ).action(
    action(async (id: string, opts: Common & { reason: string }) =>
      withRuntime(opts, async (rt, by) => {
        await decideFromCli(rt, { id, by, decision: 'denied', reason: opts.reason });
      }),
    ),
  );
  return cmd;
}
