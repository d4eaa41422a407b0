#!/usr/bin/env node
import { enableCompileCache, flushCompileCache } from './compile-cache.ts';
import { holdYoungGeneration, releaseYoungGeneration } from './young-generation.ts';

// Before any other module loads: they are compiled from (and into) the user's private cache.
enableCompileCache();

// Before the command tree and the command's own modules load (see young-generation.ts).
holdYoungGeneration();
const { buildProgram } = await import('./program.ts');
const { CliExit } = await import('./io.ts');

try {
  // A service's action resolves once it listens: from then on its own load sizes the young generation.
  // Only the command the user named is loaded (program.ts); anything else gets the whole tree.
  await (await buildProgram({ only: process.argv[2] })).parseAsync(process.argv);
  releaseYoungGeneration();
  flushCompileCache();
} catch (err) {
  if (!(err instanceof CliExit)) throw err;
}
