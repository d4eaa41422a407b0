import { Command } from 'commander';
import { createRunner } from '../lazy.ts';
import {
  action,
  configFrom,
  newRequestId,
  printJson,
  readJsonFile,
  readTextFile,
  failWith,
} from '../io.ts';

export function runCommand(): Command {
  return new Command('run')
    .description(
      'Verify the claim, run the tool in its sandbox, validate the output; result JSON on stdout',
    )
    .argument('<tool>', 'tool id')
    .requiredOption('--claim <file>', 'file holding the claim (compact JWS)')
    .requiredOption('--args <file>', 'JSON file with the arguments')
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(async (toolId: string, opts: { config: string; claim: string; args: string }) => {
        const requestId = newRequestId();
        const loaded = configFrom(opts);
        const args = readJsonFile(opts.args, 'arguments');
        const claim = readTextFile(opts.claim, 'claim');
        // Start only the backend this tool needs: a JS call does not wait for the Docker engine.
        const runner = await createRunner(loaded, {
          auditService: 'cli.run',
          backends: ['js', 'docker'].filter(
            (k) => runtimeOf(loaded.path(loaded.config.registry.dir), toolId) === k,
          ) as Array<'js' | 'docker'>,
        });
        try {
          const outcome = await runner.executor.execute({ toolId, args, claim, requestId });
          printJson(outcome);
        } catch (err) {
          failWith(err, requestId);
        } finally {
          await runner.close();
        }
      }),
    );
}

/** The runtime pinned for a tool id in the lock (read without verifying: only to choose which backend to start). */
function runtimeOf(dir: string, toolId: string): string | undefined {
  try {
    const lock = readJsonFile(`${dir}/registry.lock.json`, 'registry lock') as {
      tools?: Array<{ id: string; runtime: string }>;
    };
    return lock.tools?.find((t) => t.id === toolId)?.runtime;
  } catch {
    return undefined;
  }
}
