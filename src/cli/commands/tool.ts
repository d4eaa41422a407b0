import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { TOOL_ID_PATTERN } from '../../registry/manifest.ts';
import { action, configFrom, printJson } from '../io.ts';
import { dockerToolFiles, jsToolFiles } from '../templates.ts';

function writeAll(dir: string, files: Record<string, string>): string[] {
  return Object.entries(files).map(([name, text]) => {
    const file = join(dir, name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text, { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
    return file;
  });
}

/** `toolcage tool new ID --runtime js|docker`: a working tool to edit from, beside the others. */
export function toolCommand(): Command {
  const tool = new Command('tool').description('Write your own tools');
  tool
    .command('new')
    .description(
      'Write a new tool: manifest, entry (JS) or image recipe (Docker), example arguments and a test',
    )
    .argument('<id>', 'tool id, e.g. acme.summarise')
    .addOption(
      new Option('--runtime <runtime>', 'the sandbox it runs in')
        .choices(['js', 'docker'])
        .default('js'),
    )
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(async (id: string, opts: { runtime: 'js' | 'docker'; config: string }) => {
        if (!TOOL_ID_PATTERN.test(id))
          throw new ToolcageError('request_invalid', {
            message: `Tool id ${JSON.stringify(id.slice(0, 80))} must be lowercase dotted words, e.g. acme.summarise.`,
          });
        const loaded = configFrom(opts);
        const folder = join(loaded.path(loaded.config.registry.dir), id);
        if (existsSync(folder))
          throw new ToolcageError('request_invalid', {
            message: `${folder} already exists; choose another id or remove it.`,
          });
        const files = opts.runtime === 'js' ? jsToolFiles(id) : dockerToolFiles(id);
        const written = writeAll(folder, files.tool);
        if (files.recipe) {
          const recipeDir = join(loaded.baseDir, 'images', files.recipe.name);
          if (existsSync(recipeDir))
            throw new ToolcageError('request_invalid', {
              message: `${recipeDir} already exists; remove it or rename the tool.`,
            });
          written.push(...writeAll(recipeDir, files.recipe.files));
        }
        printJson({
          id,
          runtime: opts.runtime,
          files: written,
          next: [
            ...(opts.runtime === 'docker' ? ['toolcage images build'] : []),
            'toolcage registry lock',
            `toolcage dev call ${id} --args ${join(folder, 'example-args.json')}`,
          ],
        });
      }),
    );
  return tool;
}
