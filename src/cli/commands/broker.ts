import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { createBrokerRuntime } from '../lazy.ts';
import type { Policy } from '../../broker/policy.ts';
import { action, configFrom, readJsonFile } from '../io.ts';
import { decideFromCli } from './approvals.ts';

/** The CLI principal's roles come from the policy's `principals` table; unknown principals have none (deny by default). */
export function localRoles(policy: Policy, sub: string): string[] {
  return Object.hasOwn(policy.principals, sub) ? policy.principals[sub]! : [];
}

function parseScope(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const scope = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (scope.length === 0)
    throw new ToolcageError('request_invalid', {
      message: '--scope must list at least one scope, e.g. --scope text:read',
    });
  return scope;
}

function parseTtl(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new ToolcageError('request_invalid', {
      message: `--ttl must be a positive whole number of seconds, got ${value}`,
    });
  return n;
}

interface IssueOptions {
  config: string;
  tool: string;
  args: string;
  sub?: string;
  tenant?: string;
  scope?: string;
  ttl?: string;
  approval?: string;
  out?: string;
  dpopKey?: string;
  session?: string;
}

export function brokerCommand(extra: Command[] = []): Command {
  const broker = new Command('broker').description('Mint claims by policy; record human approvals');
  broker
    .command('issue-claim')
    .description('Mint a short-lived, single-use claim for one tool and one argument envelope')
    .requiredOption('--tool <id>', 'tool id')
    .requiredOption('--args <file>', 'JSON file with the exact arguments of the call')
    .option('--sub <subject>', 'principal (default: config subject)')
    .option('--tenant <tenant>', 'tenant (default: config tenant)')
    .option('--scope <a,b>', 'scopes to request (default: what the tool requires)')
    .option('--ttl <seconds>', 'lifetime (at most what policy allows)')
    .option('--approval <id>', 'approval id (required for high-risk tools)')
    .option('--out <file>', 'write the JWT here instead of stdout')
    .option('--session <id>', 'the session (conversation or run) the call belongs to; bound as sid')
    .option(
      '--dpop-key <file>',
      'bind the claim to this private JWK (cnf.jkt); calls must then carry DPoP proofs',
    )
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(async (opts: IssueOptions) => {
        const loaded = configFrom(opts);
        const args = readJsonFile(opts.args, 'arguments');
        const sub = opts.sub ?? loaded.config.subject;
        const rt = await createBrokerRuntime(loaded, {
          auditService: 'cli.issue-claim',
          origin: 'cli',
        });
        try {
          let dpopJkt: string | undefined;
          if (opts.dpopKey) {
            const { jwkThumbprintOfKeyFile } = await import('../dpop-key.ts');
            dpopJkt = await jwkThumbprintOfKeyFile(opts.dpopKey);
          }
          const issued = await rt.broker.issueClaim({
            tool: opts.tool,
            args,
            sub,
            roles: localRoles(rt.policy, sub),
            tenant: opts.tenant ?? loaded.config.tenant,
            ...(parseScope(opts.scope) ? { scope: parseScope(opts.scope)! } : {}),
            ...(parseTtl(opts.ttl) !== undefined ? { ttlSeconds: parseTtl(opts.ttl)! } : {}),
            ...(opts.approval ? { approvalId: opts.approval } : {}),
            ...(dpopJkt ? { dpopJkt } : {}),
            ...(opts.session ? { session: opts.session } : {}),
            via: 'cli',
          });
          if (opts.out) {
            writeFileSync(opts.out, `${issued.claim}\n`, { mode: 0o600 });
            process.stderr.write(
              `claim ${issued.jti} for ${opts.tool} written to ${opts.out}, expires ${issued.expiresAt}\n`,
            );
          } else {
            process.stdout.write(`${issued.claim}\n`);
          }
        } finally {
          await rt.close();
        }
      }),
    );
  broker
    .command('approve')
    .description(
      'Shortcut: open (or find) the approval request for one call (tool, subject, tenant, arguments, session) and approve it, under the same rules as `toolcage approvals approve`; prints the request',
    )
    .requiredOption('--tool <id>', 'tool id')
    .requiredOption('--args <file>', 'JSON file with the exact arguments being approved')
    .requiredOption('--sub <subject>', 'the principal who will make the call')
    .option('--tenant <tenant>', 'tenant (default: config tenant)')
    .option('--by <approver>', 'who approves (default: the config subject)')
    .option(
      '--session <id>',
      'the session the call will be made in (the approval holds only there)',
    )
    .option('--any-session', 'let the approval be used in any session')
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(
        async (opts: {
          config: string;
          tool: string;
          args: string;
          sub: string;
          tenant?: string;
          by?: string;
          session?: string;
          anySession?: boolean;
        }) => {
          const loaded = configFrom(opts);
          const args = readJsonFile(opts.args, 'arguments');
          const rt = await createBrokerRuntime(loaded, {
            auditService: 'cli.approve',
            origin: 'cli',
          });
          try {
            const { record } = await rt.broker.approvals.open({
              tool: opts.tool,
              args,
              sub: opts.sub,
              tenant: opts.tenant ?? loaded.config.tenant,
              via: 'cli',
              ...(opts.session ? { session: opts.session } : {}),
            });
            if (record.status !== 'pending')
              throw new ToolcageError('request_invalid', {
                message: `The request for this call (${record.id}) is already ${record.status}; nothing to approve.`,
              });
            const decided = await decideFromCli(rt, {
              id: record.id,
              by: opts.by ?? loaded.config.subject,
              decision: 'approved',
              anySession: opts.anySession === true,
              print: 'id',
            });
            process.stderr.write(
              `approved ${decided.tool} for ${decided.sub} (tenant ${decided.tenant}, args ${decided.argsHash}, ${decided.anySession ? 'any session' : decided.session ? `session ${decided.session}` : 'outside any session'}) until ${new Date(decided.expiresAtMs).toISOString()}; single use\n`,
            );
          } finally {
            await rt.close();
          }
        },
      ),
    );
  for (const c of extra) broker.addCommand(c);
  return broker;
}
