import { Command } from 'commander';
import { loadSigningKey, loadJwksFile } from '../../claims/keys.ts';
import { verifyRegistry } from '../../registry/verify.ts';
import { describeChange, lockRegistry } from '../../registry/lock-plan.ts';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import type { LoadedConfig } from '../../config/load.ts';
import type { ImageIdentityResolver } from '../../registry/scan.ts';
import { action, configFrom, printJson } from '../io.ts';
import { recordDecision, type AuditSink } from '../../audit/audit.ts';
import { withCliAudit } from '../../runtime/audit.ts';

/** The Docker engine's image identity, when an engine answers; undefined otherwise. */
async function imageIdentityFor(loaded: LoadedConfig): Promise<ImageIdentityResolver | undefined> {
  const d = loaded.config.sandbox.docker;
  if (!d.enabled) return undefined;
  const docker = await import('../../sandbox/docker/index.ts');
  const backend = docker.createDockerBackend({ socketPath: d.socketPath, pool: { size: 0 } });
  try {
    if (!(await backend.health()).usable) return undefined;
  } finally {
    await backend.dispose();
  }
  return (image) => docker.imageContentIdentity(image, { socketPath: d.socketPath });
}

export function registryCommand(): Command {
  const registry = new Command('registry').description(
    'The allowlist: hash-pinned manifests and artifacts in a signed lock',
  );
  registry
    .command('lock')
    .description(
      'Hash every manifest and artifact and write the signed tool-manifests/registry.lock.json',
    )
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .option(
      '--accept <id>',
      're-pin this changed tool after reviewing the change (repeatable)',
      (id: string, prev: string[]) => [...prev, id],
      [] as string[],
    )
    .option('--accept-all', 're-pin every changed tool (after reviewing every change)', false)
    .action(
      action(async (opts: { config: string; accept: string[]; acceptAll: boolean }) => {
        const loaded = configFrom(opts);
        await withCliAudit(loaded, 'registry-lock', async (audit) => {
          const r = loaded.config.registry;
          const key = await loadSigningKey(loaded.path(r.signingKey));
          const identity = await imageIdentityFor(loaded);
          const { lock, changes } = await lockRegistry({
            dir: loaded.path(r.dir),
            key,
            accept: opts.accept,
            acceptAll: opts.acceptAll,
            ...(identity ? { imageIdentity: identity } : {}),
            ...(r.insecureSkipLockSignature
              ? {}
              : { lockKeys: loadJwksFile(loaded.path(r.publicKeys)) }),
          });
          for (const c of changes) process.stderr.write(`${describeChange(c)}\n`);
          await recordDecision(audit, {
            kind: 'registry_locked',
            origin: 'cli',
            outcome: 'ok',
            tools: lock.tools.map((t) => `${t.id}@${t.version}`),
          });
          printJson({
            locked: lock.tools.map((t) => `${t.id}@${t.version}`),
            kid: key.kid,
            changes,
          });
        });
      }),
    );
  registry
    .command('verify')
    .description(
      'Exit 0 only when the lock signature and every pinned hash still match; names each mismatch',
    )
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(async (opts: { config: string }) => {
        const loaded = configFrom(opts);
        await withCliAudit(loaded, 'registry-verify', (audit) => verify(loaded, audit));
      }),
    );
  return registry;
}

async function verify(loaded: LoadedConfig, audit: AuditSink): Promise<void> {
  const r = loaded.config.registry;
  const result = await verifyRegistry({
    dir: loaded.path(r.dir),
    insecureSkipLockSignature: r.insecureSkipLockSignature,
    ...(r.insecureSkipLockSignature ? {} : { lockKeys: loadJwksFile(loaded.path(r.publicKeys)) }),
    ...(await imageIdentityFor(loaded).then((f) => (f ? { imageIdentity: f } : {}))),
  });
  await recordDecision(audit, {
    kind: 'registry_verified',
    origin: 'cli',
    outcome: result.problems.length > 0 ? 'refused' : 'ok',
    ...(result.problems.length > 0
      ? { errorCode: 'registry_invalid', reason: `${result.problems.length} problem(s)` }
      : {}),
  });
  if (result.problems.length > 0) {
    throw new ToolcageError('registry_invalid', {
      message: `Registry verification failed:\n- ${result.problems.join('\n- ')}`,
      details: result,
    });
  }
  printJson({ ok: true, ...result });
}
