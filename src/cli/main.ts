#!/usr/bin/env node
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
import { auditCommand } from './commands/audit.ts';
const { imagesCommand } = await import('./commands/images.ts').catch(() => ({
  imagesCommand: undefined,
}));
import { CliExit } from './io.ts';

const program = new Command('toolcage')
  .description(
    'Sandboxed tool executor for MCP tool servers: hash-pinned tools, short-lived signed claims, sandboxes with hard limits, validated output, audit.',
  )
  .version('0.1.0')
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
program.addCommand(auditCommand());
if (imagesCommand) program.addCommand(imagesCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CliExit)) throw err;
}
