import { Command } from 'commander';
import { initCommand } from './commands/init.ts';
import { keysCommand } from './commands/keys.ts';
import { registryCommand } from './commands/registry.ts';
import { brokerCommand } from './commands/broker.ts';
import { runCommand } from './commands/run.ts';
import { serveCommand } from './commands/serve.ts';
import { brokerServeCommand } from './commands/broker-serve.ts';
import { mcpCommand } from './commands/mcp.ts';
import { demoCommand } from './commands/demo.ts';
import { statusCommand } from './commands/status.ts';
import { toolCommand } from './commands/tool.ts';
import { devCommand } from './commands/dev.ts';
import { policyCommand } from './commands/policy.ts';
import { auditCommand } from './commands/audit.ts';
import { approvalsCommand } from './commands/approvals.ts';
import { sessionsCommand } from './commands/sessions.ts';

import { TOOLCAGE_VERSION } from '../util/version.ts';

/**
 * The whole `toolcage` command tree, built without parsing anything: the
 * entry point parses `process.argv` with it, and `npm run docs:cli` renders
 * docs/cli.md from it, so the reference cannot drift from the commands.
 */
export async function buildProgram(): Promise<Command> {
  // The Docker commands load dockerode; a package without it still has every other command.
  const { imagesCommand } = await import('./commands/images.ts').catch(() => ({
    imagesCommand: undefined,
  }));
  const program = new Command('toolcage')
    .description(
      'Sandboxed tool executor for MCP tool servers: hash-pinned tools, short-lived signed claims, sandboxes with hard limits, validated output, audit.',
    )
    .version(TOOLCAGE_VERSION)
    .showHelpAfterError();
  program.addCommand(initCommand());
  program.addCommand(keysCommand());
  program.addCommand(registryCommand());
  program.addCommand(brokerCommand([brokerServeCommand()]));
  program.addCommand(runCommand());
  program.addCommand(serveCommand());
  program.addCommand(mcpCommand());
  program.addCommand(demoCommand());
  program.addCommand(statusCommand());
  program.addCommand(toolCommand());
  program.addCommand(devCommand());
  program.addCommand(policyCommand());
  program.addCommand(auditCommand());
  program.addCommand(approvalsCommand());
  program.addCommand(sessionsCommand());
  if (imagesCommand) program.addCommand(imagesCommand());
  return program;
}
