import { Command } from 'commander';
import { isAnyApprover } from '../../broker/approval-rules.ts';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { createBrokerRuntime } from '../lazy.ts';
import { cliActor } from '../approval-actor.ts';
import { action, configFrom, printJson } from '../io.ts';

/** `toolcage sessions resume ID`: a human lifts a session's circuit-breaker pause. */
export function sessionsCommand(): Command {
  const sessions = new Command('sessions').description('Sessions paused by their circuit breaker');
  sessions
    .command('resume')
    .description('Resume a session paused after repeated refusals or failures')
    .argument('<id>', 'the session id')
    .option('--tenant <tenant>', 'tenant (default: config tenant)')
    .option(
      '--by <subject>',
      'who acts (default: the config subject); roles from policy principals',
    )
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(async (id: string, opts: { config: string; tenant?: string; by?: string }) => {
        const loaded = configFrom(opts);
        const rt = await createBrokerRuntime(loaded, { origin: 'cli' });
        try {
          const tenant = opts.tenant ?? loaded.config.tenant;
          // The same rule as the HTTP API and the console: only an approver lifts a pause.
          const actor = cliActor(rt.policy, opts.by ?? loaded.config.subject);
          if (!isAnyApprover(rt.broker.approvals.rules, actor))
            throw new ToolcageError('policy_denied', {
              message: `Only an approver may resume a paused session; ${actor.subject} has no approver role in the policy.`,
            });
          await rt.broker.resumeSession(tenant, id, { actor: actor.subject, origin: 'cli' });
          printJson({ session: id, tenant, resumed: true });
        } finally {
          await rt.close();
        }
      }),
    );
  return sessions;
}
