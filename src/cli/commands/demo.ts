import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { decodeJwt } from 'jose';
import { initWorkspace } from '../workspace.ts';
import { loadConfig } from '../../config/load.ts';
import { createRunner } from '../lazy.ts';
import { createBrokerRuntime } from '../lazy.ts';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { action, newRequestId } from '../io.ts';
import { CLI_HINTS, cliMessage } from '../hints.ts';
import { localImageIdentity } from './init.ts';

const say = (line = '') => process.stdout.write(`${line}\n`);

/**
 * The main job on embedded defaults, narrated: a fresh workspace, a claim
 * minted by policy, a tool run in its sandbox, the replay refused, a
 * tampered argument refused, and the approval flow of a high-risk tool.
 */
export function demoCommand(): Command {
  return new Command('demo')
    .description('Walk through toolcage on a fresh workspace: mint, run, replay refused, approval')
    .option('--dir <dir>', 'workspace folder (default: a new temporary folder)')
    .action(
      action(async (opts: { dir?: string }) => {
        const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'toolcage-demo-'));
        const imageIdentity = await localImageIdentity();
        const ws = await initWorkspace(dir, {
          force: true,
          ...(imageIdentity ? { imageIdentity } : {}),
        });
        say(
          `workspace ${ws.dir}: ${ws.tools.length} tools pinned in a signed registry lock (${ws.tools.join(', ')})`,
        );
        const loaded = loadConfig(join(dir, 'toolcage.config.yaml'));
        const runner = await createRunner(loaded, { auditService: 'cli.demo' });
        const { broker, close } = await createBrokerRuntime(loaded, {
          stores: runner.stores,
          registry: runner.registry,
          audit: runner.audit,
          origin: 'cli',
        });
        const sub = loaded.config.subject;
        const tenant = loaded.config.tenant;
        const attempt = async (label: string, toolId: string, args: unknown, claim: string) => {
          try {
            const out = await runner.executor.execute({
              toolId,
              args,
              claim,
              requestId: newRequestId(),
            });
            say(`  ${label}: ok ${JSON.stringify(out.result).slice(0, 200)}`);
          } catch (err) {
            const e =
              err instanceof ToolcageError ? err : new ToolcageError('internal', { cause: err });
            say(`  ${label}: refused ${e.code} (${e.status}): ${e.messageFor(CLI_HINTS)}`);
          }
        };
        try {
          const args = {
            text: 'The model suggests actions; the system verifies and enforces them.',
          };
          say('\n1. The broker mints a claim for one tool and exactly these arguments:');
          const issued = await broker.issueClaim({
            tool: 'text.word_count',
            args,
            sub,
            roles: ['admin'],
            tenant,
          });
          const p = decodeJwt(issued.claim);
          say(
            `  claim jti=${p.jti} tool=${String(p.tool)} scope=${JSON.stringify(p.scope)} args_hash=${String(p.args_hash)} ttl=${Number(p.exp) - Number(p.nbf)}s`,
          );
          say(
            '\n2. The runner verifies every field, runs the tool in isolated-vm, validates the output:',
          );
          await attempt('run', 'text.word_count', args, issued.claim);
          say('\n3. The same claim again is a replay:');
          await attempt('replay', 'text.word_count', args, issued.claim);
          say('\n4. A fresh claim with tampered arguments:');
          const second = await broker.issueClaim({
            tool: 'text.word_count',
            args,
            sub,
            roles: ['admin'],
            tenant,
          });
          await attempt('tampered args', 'text.word_count', { text: 'rm -rf /' }, second.claim);
          say('\n5. A high-risk tool needs a human approval for exactly this call:');
          const patch = {
            files: { 'README.md': 'hello world' },
            edits: [{ path: 'README.md', find: 'world', replace: 'toolcage' }],
          };
          try {
            await broker.issueClaim({
              tool: 'repo.apply_patch',
              args: patch,
              sub,
              roles: ['admin'],
              tenant,
            });
          } catch (err) {
            say(
              `  mint without approval: refused ${(err as ToolcageError).code}: ${cliMessage(err)}`,
            );
          }
          const approval = await broker.recordApproval({
            tool: 'repo.apply_patch',
            args: patch,
            sub,
            tenant,
            status: 'approved',
            decidedBy: 'demo-approver',
          });
          say(`  approved by a human: ${approval.id}`);
          const approved = await broker.issueClaim({
            tool: 'repo.apply_patch',
            args: patch,
            sub,
            roles: ['admin'],
            tenant,
            approvalId: approval.id,
          });
          await attempt('run with approval', 'repo.apply_patch', patch, approved.claim);
          if (ws.tools.includes('text.sha256sum')) {
            say('\n6. A binary tool runs in a network-less, read-only, non-root Docker container:');
            const text = { text: 'hello from a container' };
            const sha = await broker.issueClaim({
              tool: 'text.sha256sum',
              args: text,
              sub,
              roles: ['admin'],
              tenant,
            });
            await attempt('docker run', 'text.sha256sum', text, sha.claim);
          } else {
            say(
              '\n6. (Docker tools left out: no Docker engine with built images here; see `toolcage images build`.)',
            );
          }
          say(
            `\nEvery decision above has one audit line in ${loaded.path(loaded.config.audit.file)}`,
          );
        } finally {
          await close();
          await runner.close();
        }
      }),
    );
}
