import { Command } from 'commander';
import { initWorkspace } from '../workspace.ts';
import { action, printJson } from '../io.ts';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import type { ImageIdentityResolver } from '../../registry/scan.ts';

/** The engine's image identity when an engine answers and the example images are built. */
export async function localImageIdentity(
  socketPath = '/var/run/docker.sock',
): Promise<ImageIdentityResolver | undefined> {
  const docker = await import('../../sandbox/docker/index.ts');
  const backend = docker.createDockerBackend({
    socketPath,
    pool: { size: 0 },
    cleanupOnStart: false,
  });
  try {
    if (!(await backend.health()).usable) return undefined;
  } finally {
    await backend.dispose();
  }
  return (image) => docker.imageContentIdentity(image, { socketPath });
}

export function initCommand(): Command {
  return new Command('init')
    .description(
      'Create a ready workspace: config, dev keys, broker policy, example tools and a signed registry lock',
    )
    .argument('[dir]', 'workspace folder', '.')
    .option('--force', 'overwrite an existing workspace config', false)
    .option('--no-docker', 'leave out the Docker example tools')
    .action(
      action(async (dir: string, opts: { force: boolean; docker: boolean }) => {
        const imageIdentity = opts.docker ? await localImageIdentity() : undefined;
        try {
          const result = await initWorkspace(dir, {
            force: opts.force,
            ...(imageIdentity ? { imageIdentity } : {}),
          });
          if (result.skipped.length > 0) {
            process.stderr.write(
              `left out Docker tools (${result.skipped.join(', ')}): no Docker engine with built images; run \`toolcage images build\` and \`toolcage init --force\` to include them\n`,
            );
          }
          printJson(result);
        } catch (err) {
          if (err instanceof ToolcageError) throw err;
          throw new ToolcageError('config_invalid', {
            message: (err as Error).message,
            cause: err,
          });
        }
      }),
    );
}
