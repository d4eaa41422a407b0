import type { Command, Option } from 'commander';
import { buildProgram } from '../../src/cli/program.ts';

function optionLine(o: Option): string {
  const def =
    o.defaultValue === undefined || (Array.isArray(o.defaultValue) && o.defaultValue.length === 0)
      ? ''
      : ` (default: \`${JSON.stringify(o.defaultValue)}\`)`;
  const choices = o.argChoices ? ` (one of ${o.argChoices.map((c) => `\`${c}\``).join(', ')})` : '';
  return `- \`${o.flags}\`: ${o.description}${choices}${def}${o.mandatory ? ' (required)' : ''}`;
}

function usage(cmd: Command, path: string[]): string {
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`));
  return ['toolcage', ...path, ...(cmd.options.length > 0 ? ['[options]'] : []), ...args].join(' ');
}

function render(cmd: Command, path: string[], out: string[]): void {
  if (path.length > 0) {
    out.push(`${'#'.repeat(Math.min(path.length + 1, 4))} \`toolcage ${path.join(' ')}\``, '');
    out.push(cmd.description(), '');
    if (cmd.commands.length === 0) out.push('```', usage(cmd, path), '```', '');
    for (const a of cmd.registeredArguments)
      out.push(`- \`${a.required ? `<${a.name()}>` : `[${a.name()}]`}\`: ${a.description}`);
    for (const o of cmd.options) out.push(optionLine(o));
    if (cmd.registeredArguments.length + cmd.options.length > 0) out.push('');
  }
  for (const sub of cmd.commands) render(sub, [...path, sub.name()], out);
}

/** docs/cli.md, rendered from the commander definitions (`npm run docs:cli`). */
export async function cliDoc(): Promise<string> {
  const program = await buildProgram();
  const out = [
    '# CLI reference',
    '',
    '<!-- Generated from the commander definitions by `npm run docs:cli`; test/docs/generated-docs.test.ts fails when it is stale. Do not edit by hand. -->',
    '',
    program.description(),
    '',
    'Every command prints its result as JSON on stdout, and a refusal as the error body',
    '`{"error":{"code","message","requestId"}}` on stderr with a non-zero exit (2: the',
    "caller's mistake, 1: the system's); the codes are listed in [errors.md](errors.md).",
    '',
    '## Commands',
    '',
    ...program.commands.map(
      (c) => `- [\`toolcage ${c.name()}\`](#toolcage-${c.name()}): ${c.description()}`,
    ),
    '',
  ];
  render(program, [], out);
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
