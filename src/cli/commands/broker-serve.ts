import { Command } from 'commander';
import { createBrokerService } from '../lazy.ts';
import { configCheck, startFiles } from '../../runtime/config-check.ts';
import { action, configFrom } from '../io.ts';
import { listenOrShutdown, stopOnSignals } from '../service-lifecycle.ts';

export function brokerServeCommand(): Command {
  return new Command('serve')
    .description(
      "The broker's HTTP service: POST /v1/claims, approvals (/v1/approvals...), GET /.well-known/jwks.json",
    )
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .option('--host <host>', 'listen address (default: broker.http.host)')
    .option('--port <port>', 'listen port (default: broker.http.port; 0 picks a free one)')
    .action(
      action(async (opts: { config: string; host?: string; port?: string }) => {
        const loaded = configFrom(opts);
        const service = await createBrokerService(loaded);
        // Before the service says it is listening: a signal right after the announcement is handled.
        // SIGHUP re-reads and re-verifies the registry; the config and the policy are read at start
        // only, and the trail says whether the files on disk are still the ones in effect.
        const checkConfig = configCheck({
          audit: service.runtime.audit,
          files: startFiles(opts.config, loaded, service.runtime.policy),
        });
        process.on('SIGHUP', () => {
          service.app.log.info('SIGHUP: reloading the registry');
          void service.runtime.reloader?.reload();
          void checkConfig();
        });
        stopOnSignals(
          () => service.shutdown(),
          (msg) => service.app.log.info(msg),
        );
        const url = await listenOrShutdown(service, opts);
        service.app.log.info({ url }, 'toolcage broker listening');
      }),
    );
}
