import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Orders audit files as they were written: rotated files (`<file>.<stamp>.<writer>`)
 * by name, each live file after its own rotations.
 */
export function orderAuditFiles(files: readonly string[]): string[] {
  const key = (f: string) => (files.some((g) => g.startsWith(`${f}.`)) ? `${f}.~` : f);
  return [...new Set(files)].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The live audit file and its rotations, oldest first. */
export function auditFilesOf(file: string): string[] {
  const dir = dirname(file);
  if (!existsSync(dir)) return [];
  const base = basename(file);
  const found = readdirSync(dir)
    .filter((n) => n === base || n.startsWith(`${base}.`))
    .map((n) => join(dir, n));
  return orderAuditFiles(found);
}

export interface RawLine {
  file: string;
  /** 1-based line number. */
  line: number;
  text: string;
  /** The file ended here without a newline: the line may have been cut. */
  partial: boolean;
}

/** Every line of the files, in order (files read whole: the trail is for one node's disk). */
export async function* readLines(files: readonly string[]): AsyncGenerator<RawLine> {
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const lines = text.split('\n');
    const endsClean = text.endsWith('\n') || text.length === 0;
    if (endsClean) lines.pop();
    for (let i = 0; i < lines.length; i++) {
      yield { file, line: i + 1, text: lines[i]!, partial: !endsClean && i === lines.length - 1 };
    }
  }
}
