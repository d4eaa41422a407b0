import { Command } from 'commander';
import { TOOLCAGE_VERSION } from '../util/version.ts';

/**
 * Each top-level command, in the order `--help` lists them, with the module
 * that builds it. A command's module imports what its action needs to parse
 * and check (config schemas, policy, key handling), so a run that names one
 * command loads that one only: `toolcage serve` does not pay for `broker`,
 * `policy` or `audit` (~190 ms of module loading here; docs/performance.md).
 */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<Command | undefined>]> = [
  ['init', async () => (await import('./commands/init.ts')).initCommand()],
  ['keys', async () => (await import('./commands/keys.ts')).keysCommand()],
  ['registry', async () => (await import('./commands/registry.ts')).registryCommand()],
  [
    'broker',
    async () => {
      const [{ brokerCommand }, { brokerServeCommand }] = await Promise.all([
        import('./commands/broker.ts'),
        import('./commands/broker-serve.ts'),
      ]);
      return brokerCommand([brokerServeCommand()]);
    },
  ],
  ['run', async () => (await import('./commands/run.ts')).runCommand()],
  ['serve', async () => (await import('./commands/serve.ts')).serveCommand()],
  ['mcp', async () => (await import('./commands/mcp.ts')).mcpCommand()],
  ['demo', async () => (await import('./commands/demo.ts')).demoCommand()],
  ['status', async () => (await import('./commands/status.ts')).statusCommand()],
  ['tool', async () => (await import('./commands/tool.ts')).toolCommand()],
  ['dev', async () => (await import('./commands/dev.ts')).devCommand()],
  ['policy', async () => (await import('./commands/policy.ts')).policyCommand()],
  ['audit', async () => (await import('./commands/audit.ts')).auditCommand()],
  ['approvals', async () => (await import('./commands/approvals.ts')).approvalsCommand()],
  ['sessions', async () => (await import('./commands/sessions.ts')).sessionsCommand()],
  // The Docker commands load dockerode; a package without it still has every other command.
  [
    'images',
    async () =>
      import('./commands/images.ts').then(
        (m) => m.imagesCommand(),
        () => undefined,
      ),
  ],
];

/**
 * The `toolcage` command tree, built without parsing anything: the entry
 * point parses `process.argv` with it, and `npm run docs:cli` renders
 * docs/cli.md from it, so the reference cannot drift from the commands.
 *
 * With `only` naming a top-level command, the tree holds that command alone
 * (the rest are never loaded); its parsing, help and errors are the same as
 * in the whole tree, because a subcommand's help and its option errors never
 * list its siblings. Anything else (no command, `help`, `--version`, a typo
 * commander should answer with suggestions) gets the whole tree.
 *
 * @example
 * ```ts
 * await (await buildProgram({ only: process.argv[2] })).parseAsync(process.argv);
 * ```
 */
export async function buildProgram(options: { only?: string | undefined } = {}): Promise<Command> {
  const one = COMMANDS.find(([name]) => name === options.only);
  const chosen = one ? [one] : COMMANDS;
  const commands = await Promise.all(chosen.map(([, build]) => build()));
  const program = new Command('toolcage')
    .description(
      'Sandboxed tool executor for MCP tool servers: hash-pinned tools, short-lived signed claims, sandboxes with hard limits, validated output, audit.',
    )
    .version(TOOLCAGE_VERSION)
    .showHelpAfterError();
  for (const command of commands) if (command) program.addCommand(command);
  return program;
}
