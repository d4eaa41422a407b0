import { Command } from 'commander';
import { createBrokerRuntime } from '../lazy.ts';
import { action, configFrom, printJson } from '../io.ts';

/** `toolcage sessions resume ID`: a human lifts a session's circuit-breaker pause. */
export function sessionsCommand(): Command {
  const sessions = new Command('sessions').description('Sessions paused by their circuit breaker');
  sessions
    .command('resume')
    .description('Resume a session paused after repeated refusals or failures')
    .argument('<id>', 'the session id')
    .option('--tenant <tenant>', 'tenant (default: config tenant)')
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(async (id: string, opts: { config: string; tenant?: string }) => {
        const loaded = configFrom(opts);
        const rt = await createBrokerRuntime(loaded);
        try {
          const tenant = opts.tenant ?? loaded.config.tenant;
          await rt.broker.resumeSession(tenant, id);
          printJson({ session: id, tenant, resumed: true });
        } finally {
          await rt.close();
        }
      }),
    );
  return sessions;
}
