#!/usr/bin/env node
import { buildProgram } from './program.ts';
import { CliExit } from './io.ts';

try {
  await (await buildProgram()).parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CliExit)) throw err;
}
