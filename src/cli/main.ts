#!/usr/bin/env node
import { holdYoungGeneration, releaseYoungGeneration } from './young-generation.ts';

// Before the command tree and the command's own modules load (see young-generation.ts).
holdYoungGeneration();
const { buildProgram } = await import('./program.ts');
const { CliExit } = await import('./io.ts');

try {
  // A service's action resolves once it listens: from then on its own load sizes the young generation.
  await (await buildProgram()).parseAsync(process.argv);
  releaseYoungGeneration();
} catch (err) {
  if (!(err instanceof CliExit)) throw err;
}
