import { Command } from 'commander';
import { createRunner } from '../lazy.ts';
import { action, configFrom, printJson } from '../io.ts';

/**
 * `toolcage status`: what this runner could serve right now — which sandbox
 * backends are usable (isolated-vm workers up, Docker engine reachable), the
 * state stores, and the allowlisted tools with their runtime. Exit 0 when at
 * least one backend is usable, 1 otherwise.
 */
export function statusCommand(): Command {
  return new Command('status')
    .description(
      'Report which sandbox backends are usable, the state stores and the allowlisted tools',
    )
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(async (opts: { config: string }) => {
        const loaded = configFrom(opts);
        const runner = await createRunner(loaded, { auditService: 'cli.status' });
        try {
          // Workers fork asynchronously: give them a moment before asking.
          for (let i = 0; i < 100 && !(await runner.backends.js?.health())?.usable; i++)
            await new Promise((r) => setTimeout(r, 50));
          const readiness = await runner.executor.readiness();
          const storesHealth = (await runner.stores.health?.()) ?? {
            usable: true,
            detail: `${runner.stores.kind} store open`,
          };
          const unverified = new Set(runner.registry().unverified);
          printJson({
            ready: readiness.ready && storesHealth.usable,
            backends: readiness.backends,
            stores: { kind: readiness.stores, ...storesHealth },
            tools: runner.executor.listTools().map((t) => ({
              id: t.id,
              version: t.version,
              runtime: t.runtime,
              usable: readiness.backends[t.runtime]?.usable ?? false,
              ...(unverified.has(t.id) ? { imageVerified: false } : {}),
            })),
            ...(readiness.withheld.length > 0 ? { withheld: readiness.withheld } : {}),
          });
          if (!readiness.ready || !storesHealth.usable) process.exitCode = 1;
        } finally {
          await runner.close();
        }
      }),
    );
}
