import { Command } from 'commander';
import { createRunnerService } from '../lazy.ts';
import { configCheck, startFiles } from '../../runtime/config-check.ts';
import { action, configFrom } from '../io.ts';
import { listenOrShutdown, stopOnSignals } from '../service-lifecycle.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description(
      "The runner's HTTP service: GET /v1/tools, POST /v1/tools/{id}/invoke, /healthz, /readyz, /metrics",
    )
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .option('--host <host>', 'listen address (default: runner.http.host)')
    .option('--port <port>', 'listen port (default: runner.http.port; 0 picks a free one)')
    .option('--no-watch', 'do not reload when the registry lock changes (SIGHUP still reloads)')
    .action(
      action(async (opts: { config: string; host?: string; port?: string; watch: boolean }) => {
        const loaded = configFrom(opts);
        const service = await createRunnerService(loaded);
        // Signals are handled before the service says it is listening: a SIGHUP that follows the
        // announcement at once must reload, never find Node's default (exit) still in place.
        // The same reload policy as `toolcage mcp` (src/runtime/reload.ts): SIGHUP, and the lock watched.
        // A reload covers the registry; the config file is read at start only, and the trail says
        // whether the one on disk is still the one in effect (src/runtime/config-check.ts).
        const reloader = service.runner.reloader;
        const checkConfig = configCheck({
          audit: service.runner.audit,
          files: startFiles(opts.config),
        });
        process.on('SIGHUP', () => {
          service.app.log.info('SIGHUP: reloading the registry');
          void reloader.reload();
          void checkConfig();
        });
        stopOnSignals(
          async () => {
            const { aborted } = await service.shutdown();
            service.app.log.info({ aborted }, 'toolcage runner stopped');
          },
          (msg) => service.app.log.info(msg),
        );
        const url = await listenOrShutdown(service, opts);
        if (opts.watch) reloader.watch();
        service.app.log.info({ url }, 'toolcage runner listening');
        // The action ends (and start-up's young-generation hold with it, main.ts) once the backends
        // made after listening have started: their module loading is start-up's, not the service's.
        await service.started();
      }),
    );
}
