import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { JSONWebKeySet } from 'jose';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { auditPublicKeys, configuredAuditFiles } from '../../runtime/audit.ts';
import { matches, readRecords } from '../../audit/query.ts';
import { toOcsf } from '../../audit/ocsf.ts';
import { verifyAuditFiles } from '../../audit/verify.ts';
import { orderAuditFiles } from '../../audit/files.ts';
import { action, configFrom, printJson } from '../io.ts';

function filesFrom(files: string[], opts: { config: string }): string[] {
  if (files.length > 0) {
    for (const f of files)
      if (!existsSync(f))
        throw new ToolcageError('request_invalid', { message: `No such audit file: ${f}.` });
    return orderAuditFiles(files);
  }
  const found = configuredAuditFiles(configFrom(opts));
  if (found.length === 0)
    throw new ToolcageError('request_invalid', {
      message:
        'No audit files found: name them, or point --config at a workspace with audit.destination: file.',
    });
  return found;
}

function keysFrom(opts: { config: string; keys?: string }): JSONWebKeySet | undefined {
  if (opts.keys) {
    try {
      return JSON.parse(readFileSync(opts.keys, 'utf8')) as JSONWebKeySet;
    } catch (cause) {
      throw new ToolcageError('request_invalid', {
        message: `Cannot read the audit JWKS ${opts.keys}: ${(cause as Error).message}.`,
        cause,
      });
    }
  }
  return existsSync(opts.config) ? auditPublicKeys(configFrom(opts)) : undefined;
}

function time(value: string | undefined, flag: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new ToolcageError('request_invalid', {
      message: `${flag} must be an ISO 8601 time such as 2026-11-27T16:00:00Z, got ${value}.`,
    });
  return d;
}

export function auditCommand(): Command {
  const audit = new Command('audit').description(
    'The tamper-evident audit trail: verify its chains and checkpoints, export it for a SIEM',
  );
  audit
    .command('verify')
    .description(
      'Check every chain: exit 0 intact and sealed; 1 a record was modified, inserted, deleted or reordered, or a checkpoint is forged; 3 no tampering found but a chain is unsealed (tail after its last checkpoint unprovable) or unsigned',
    )
    .argument('[files...]', 'audit files, rotated ones included (default: the workspace trail)')
    .option('--keys <jwks>', 'audit public keys (default: config audit.publicKeys)')
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(async (files: string[], opts: { config: string; keys?: string }) => {
        const report = await verifyAuditFiles(filesFrom(files, opts), {
          jwks: keysFrom(opts),
        });
        printJson(report);
        process.exitCode = report.exitCode;
      }),
    );
  audit
    .command('export')
    .description('Write the trail as JSON lines, raw (jsonl) or mapped to OCSF events (ocsf)')
    .addOption(
      new Option('--format <format>', 'output format').choices(['ocsf', 'jsonl']).default('jsonl'),
    )
    .option('--since <time>', 'records at or after this ISO 8601 time')
    .option('--until <time>', 'records before this ISO 8601 time')
    .argument('[files...]', 'audit files (default: the workspace trail)')
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(
        async (
          files: string[],
          opts: { config: string; format: 'ocsf' | 'jsonl'; since?: string; until?: string },
        ) => {
          const q = { since: time(opts.since, '--since'), until: time(opts.until, '--until') };
          for await (const r of readRecords(filesFrom(files, opts))) {
            if (!matches(r, q)) continue;
            process.stdout.write(`${JSON.stringify(opts.format === 'ocsf' ? toOcsf(r) : r)}\n`);
          }
        },
      ),
    );
  return audit;
}
