import { Command } from 'commander';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { createBrokerRuntime } from '../lazy.ts';
import { createRunner } from '../lazy.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { action, configFrom, failWith, newRequestId, printJson, readJsonFile } from '../io.ts';

/**
 * `toolcage dev call ID --args FILE`: mint a claim as the config's subject and
 * run it at once, in one process. Only where the config says `dev: true`
 * (what `toolcage init` writes): it holds the broker's private key beside the
 * runner, which a production runner never does.
 */
export function devCommand(): Command {
  const dev = new Command('dev').description('The dev loop of a dev workspace (config dev: true)');
  dev
    .command('call')
    .description(
      'Mint a claim for the config subject and run the tool in one step; result JSON on stdout',
    )
    .argument('<id>', 'tool id')
    .requiredOption('--args <file>', 'JSON file with the arguments')
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(async (toolId: string, opts: { args: string; config: string }) => {
        const requestId = newRequestId();
        const loaded = configFrom(opts);
        if (!loaded.config.dev)
          throw new ToolcageError('policy_denied', {
            message:
              'dev call runs only in a dev workspace: set `dev: true` in the config (toolcage init writes it). In production mint with the broker and call the runner.',
          });
        const args = readJsonFile(opts.args, 'arguments');
        // Start only the backend the tool's pin names: a JS call does not wait for the Docker engine.
        const runner = await createRunner(loaded, { backends: [pinnedRuntime(loaded, toolId)] });
        try {
          const rt = await createBrokerRuntime(loaded, {
            stores: runner.stores,
            registry: runner.registry,
          });
          const sub = loaded.config.subject;
          const { claim } = await rt.broker.issueClaim({
            tool: toolId,
            args,
            sub,
            roles: Object.hasOwn(rt.policy.principals, sub) ? rt.policy.principals[sub]! : [],
            tenant: loaded.config.tenant,
          });
          printJson(await runner.executor.execute({ toolId, args, claim, requestId }));
        } catch (err) {
          failWith(err, requestId);
        } finally {
          await runner.close();
        }
      }),
    );
  return dev;
}

/** The runtime the lock pins for the tool (read unverified: only to choose a backend; the load verifies). */
function pinnedRuntime(loaded: LoadedConfig, toolId: string): 'js' | 'docker' {
  try {
    const lock = readJsonFile(
      `${loaded.path(loaded.config.registry.dir)}/registry.lock.json`,
      'registry lock',
    ) as { tools?: Array<{ id: string; runtime: string }> };
    return lock.tools?.find((t) => t.id === toolId)?.runtime === 'docker' ? 'docker' : 'js';
  } catch {
    return 'js';
  }
}
