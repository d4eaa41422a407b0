import { Command } from 'commander';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { isEngineUnreachable } from '../../sandbox/docker/api.ts';
import {
  buildAllImages,
  DEFAULT_SOCKET_PATH,
  listImages,
} from '../../sandbox/docker/build/images.ts';
import { action, printJson } from '../io.ts';

function engineError(err: unknown, socketPath: string): unknown {
  if (!isEngineUnreachable(err)) return err;
  return new ToolcageError('sandbox_unavailable', {
    message: `The Docker engine is not reachable at unix://${socketPath}. Start dockerd (scripts/setup.sh does), or pass --socket.`,
    cause: err,
  });
}

/**
 * `toolcage images build|list`: the Docker tools' images, built offline from
 * the recipes under `sandboxes/docker/` (deterministic root filesystems from
 * the machine's Debian packages), and their content identities, which the
 * registry lock pins as `artifactSha256`.
 */
export function imagesCommand(): Command {
  const images = new Command('images').description(
    'Build and list the Docker tool images (offline, reproducible)',
  );

  images
    .command('build')
    .description('Build every tool image from its recipe; one progress line per image')
    .option('--socket <path>', 'Docker engine socket', DEFAULT_SOCKET_PATH)
    .option('--include-test', 'also build the test-only images (toolcage-test/...)', false)
    .option('--json', 'print the result as one JSON line instead of progress lines', false)
    .action(
      action(async (opts: { socket: string; includeTest: boolean; json: boolean }) => {
        try {
          const built = await buildAllImages({
            socketPath: opts.socket,
            includeTest: opts.includeTest,
            onProgress: (b, i, total) => {
              if (!opts.json)
                process.stdout.write(
                  `[${i}/${total}] ${b.image} ${b.status} identity ${b.identity} (${(b.bytes / 1024).toFixed(0)} KiB)\n`,
                );
            },
          });
          if (opts.json) printJson({ images: built });
        } catch (err) {
          throw engineError(err, opts.socket);
        }
      }),
    );

  images
    .command('list')
    .description(
      'List each recipe, its image, content identity, and whether the local image is up to date',
    )
    .option('--socket <path>', 'Docker engine socket', DEFAULT_SOCKET_PATH)
    .option('--json', 'print as one JSON line', false)
    .action(
      action(async (opts: { socket: string; json: boolean }) => {
        try {
          const list = await listImages({ socketPath: opts.socket });
          if (opts.json) {
            printJson({ images: list });
            return;
          }
          for (const img of list) {
            const state =
              img.identity === undefined ? 'missing' : img.upToDate ? 'up to date' : 'stale';
            process.stdout.write(
              `${img.image}\t${state}\t${img.identity ?? '-'}${img.testOnly ? '\t(test only)' : ''}\n`,
            );
          }
        } catch (err) {
          throw engineError(err, opts.socket);
        }
      }),
    );

  return images;
}
