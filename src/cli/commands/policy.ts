import { Command } from 'commander';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { loadPolicy } from '../../broker/policy.ts';
import { loadConditions } from '../../broker/policy-set.ts';
import { createBrokerRuntime, loadRegistry } from '../lazy.ts';
import { action, configFrom, printJson, readJsonFile } from '../io.ts';
import { localRoles } from './broker.ts';

/** `toolcage policy check|explain`: validate the policy against the registry; explain one decision. */
export function policyCommand(): Command {
  const policy = new Command('policy').description(
    'Check the broker policy against the registry; explain a decision',
  );
  policy
    .command('check')
    .description(
      "Type-check every Cedar policy against a schema generated from the registry's input schemas",
    )
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(async (opts: { config: string }) => {
        const loaded = configFrom(opts);
        const file = loaded.path(loaded.config.broker.policy);
        const p = loadPolicy(file);
        const conditions = loadConditions(p, file);
        if (!conditions) {
          process.stdout.write(`${file}: roles OK; no Cedar conditions (conditions.cedarFile).\n`);
          return;
        }
        const registry = await loadRegistry(loaded);
        const problems = conditions.check(registry.list().map((t) => t.manifest));
        if (problems.length > 0)
          throw new ToolcageError('config_invalid', {
            message: `${problems.length} Cedar polic${problems.length === 1 ? 'y does' : 'ies do'} not type-check against the registry:\n${problems.map((x) => `  ${x.policyId}: ${x.message}`).join('\n')}`,
          });
        process.stdout.write(
          `${file}: roles OK; ${conditions.ids.length} Cedar policies (${conditions.ids.join(', ')}) type-check against ${registry.list().length} tools.\n`,
        );
      }),
    );
  policy
    .command('explain')
    .description(
      'Print the decision for one call (or for approving it, --action approve) and why, without minting or deciding anything',
    )
    .requiredOption('--tool <id>', 'tool id')
    .requiredOption('--args <file>', 'JSON file with the arguments of the call')
    .option('--sub <subject>', 'who calls (default: config subject)')
    .option('--tenant <tenant>', 'tenant (default: config tenant)')
    .option('--session <id>', 'the session the call belongs to')
    .option('--action <action>', 'call (default) or approve', 'call')
    .option('--approver <subject>', 'with --action approve: who approves (default: config subject)')
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(
        async (opts: {
          config: string;
          tool: string;
          args: string;
          sub?: string;
          tenant?: string;
          session?: string;
          action: string;
          approver?: string;
        }) => {
          if (opts.action !== 'call' && opts.action !== 'approve')
            throw new ToolcageError('request_invalid', {
              message: `--action must be call or approve, got ${opts.action.slice(0, 50)}`,
            });
          const loaded = configFrom(opts);
          const args = readJsonFile(opts.args, 'arguments');
          const sub = opts.sub ?? loaded.config.subject;
          const rt = await createBrokerRuntime(loaded);
          try {
            const roles = localRoles(rt.policy, sub);
            if (opts.action === 'approve') {
              const approver = opts.approver ?? loaded.config.subject;
              const out = rt.broker.explainApproval({
                tool: opts.tool,
                args,
                sub,
                tenant: opts.tenant ?? loaded.config.tenant,
                session: opts.session,
                approver,
                approverRoles: localRoles(rt.policy, approver),
              });
              printJson({ sub, ...out });
              if (!out.allowed) process.exitCode = 1;
              return;
            }
            const out = rt.broker.explain({
              tool: opts.tool,
              args,
              sub,
              roles,
              tenant: opts.tenant ?? loaded.config.tenant,
              ...(opts.session ? { session: opts.session } : {}),
            });
            printJson({ sub, roles, ...out });
            if (!out.allowed) process.exitCode = 1;
          } finally {
            await rt.close();
          }
        },
      ),
    );
  return policy;
}
