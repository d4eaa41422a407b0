import { Command } from 'commander';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { isEngineUnreachable } from '../../sandbox/docker/api.ts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildImage, DEFAULT_SOCKET_PATH, listImages } from '../../sandbox/docker/build/images.ts';
import { buildGate } from '../../sandbox/docker/build/gate.ts';
import { loadRecipes, RECIPES_DIR, type Recipe } from '../../sandbox/docker/build/recipe.ts';
import { loadConfig } from '../../config/load.ts';
import { action, printJson } from '../io.ts';

/**
 * The recipes `images build` builds, in order: the package's own, the
 * workspace's (`images/` beside the config, when there is a config), then
 * each `--recipes DIR`. Two recipes may not claim one image name.
 */
export function discoverRecipes(opts: {
  config: string;
  recipes: readonly string[];
  includeTest: boolean;
}): Recipe[] {
  const dirs: string[] = [RECIPES_DIR];
  if (existsSync(opts.config)) {
    const workspace = loadConfig(opts.config).path('images');
    if (existsSync(workspace)) dirs.push(workspace);
  }
  for (const dir of opts.recipes) {
    const abs = resolve(dir);
    if (!existsSync(abs))
      throw new ToolcageError('request_invalid', {
        message: `--recipes ${abs} does not exist; it should hold <name>/recipe.json folders (docs/docker-images.md).`,
      });
    dirs.push(abs);
  }
  const out: Recipe[] = [];
  const byImage = new Map<string, string>();
  for (const dir of dirs) {
    let recipes: Recipe[];
    try {
      recipes = loadRecipes(dir);
    } catch (cause) {
      throw new ToolcageError('request_invalid', {
        message: `${dir}: ${(cause as Error).message}`,
        cause,
      });
    }
    for (const r of recipes) {
      if (r.testOnly === true && !opts.includeTest) continue;
      const other = byImage.get(r.image);
      if (other)
        throw new ToolcageError('request_invalid', {
          message: `Two recipes build ${r.image}: ${other} and ${r.dir}. Rename one image.`,
        });
      byImage.set(r.image, r.dir);
      out.push(r);
    }
  }
  return out;
}

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
    .description(
      "Build every tool image from its recipe (the package's, the workspace's images/, --recipes DIR); one progress line per image",
    )
    .option('--socket <path>', 'Docker engine socket', DEFAULT_SOCKET_PATH)
    .option('--include-test', 'also build the test-only images (toolcage-test/...)', false)
    .option(
      '--config <file>',
      "config file (its folder's images/ holds workspace recipes)",
      'toolcage.config.yaml',
    )
    .option(
      '--recipes <dir>',
      'also build the recipes in this folder (<name>/recipe.json; repeatable)',
      (d: string, prev: string[]) => [...prev, d],
      [] as string[],
    )
    .option('--json', 'print the result as one JSON line instead of progress lines', false)
    .action(
      action(
        async (opts: {
          socket: string;
          includeTest: boolean;
          json: boolean;
          config: string;
          recipes: string[];
        }) => {
          const recipes = discoverRecipes(opts);
          const built = [];
          try {
            for (const [i, recipe] of recipes.entries()) {
              const b = await buildImage(recipe, { socketPath: opts.socket }).catch(
                (err: unknown) => {
                  if (isEngineUnreachable(err)) throw err;
                  throw new ToolcageError('request_invalid', {
                    message: `Recipe ${recipe.dir}: ${(err as Error).message}`,
                    cause: err,
                  });
                },
              );
              built.push(b);
              if (!opts.json)
                process.stdout.write(
                  `[${i + 1}/${recipes.length}] ${b.image} ${b.status} identity ${b.identity} (${(b.bytes / 1024).toFixed(0)} KiB)\n`,
                );
            }
          } catch (err) {
            throw engineError(err, opts.socket);
          }
          // The warm pool's gate is built with the images: no pool runs without it.
          buildGate();
          if (opts.json) printJson({ images: built });
        },
      ),
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
