import { compileSchema } from '../validation/json-schema.ts';
import { checkJsEntry } from './js-entry.ts';
import type { ScannedTool } from './scan.ts';

/**
 * Whether a scanned tool can run, beyond its pins: both schemas compile with
 * the runner's strict validator (an unknown keyword such as `maxLenght` is an
 * error, naming the tool, the file and the keyword), and a JS entry parses as
 * a module that imports nothing and default-exports a function. The same
 * checks run at `registry lock`, `registry verify` and load, so a mistake
 * that would fail every call is caught before anything is signed.
 */
export function toolProblems(scanned: ScannedTool): string[] {
  const problems: string[] = [];
  const m = scanned.manifest;
  for (const key of ['inputSchema', 'outputSchema'] as const) {
    try {
      compileSchema(m[key], `${m.id}: ${scanned.manifestPath}: ${key}`);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (m.runtime === 'js' && scanned.source !== undefined)
    problems.push(
      ...checkJsEntry(scanned.source, scanned.artifact).map((p) => `${m.id}: entry ${p}`),
    );
  return problems;
}
