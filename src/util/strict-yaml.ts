import type { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { ErrorCode } from '../errors/catalogue.ts';

/** Formats zod issues as `file: field.path: message` lines a person can act on. */
export function formatIssues(file: string, issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => `${file}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('\n');
}

/**
 * Parses YAML text into a zod schema, strictly: duplicate keys and aliases
 * (billion-laughs) are refused, and every failing field is named with its
 * file. Throws `code` (the caller's: a bad manifest is `registry_invalid`,
 * a bad config or policy `config_invalid`), titled `what`.
 */
export function parseStrictYaml<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  code: ErrorCode,
  what: string,
): z.output<S> {
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true, maxAliasCount: 0 });
  } catch (cause) {
    throw new ToolcageError(code, {
      message: `${file}: not valid YAML: ${(cause as Error).message}`,
      cause,
    });
  }
  const parsed = schema.safeParse(raw ?? {});
  if (!parsed.success)
    throw new ToolcageError(code, {
      message: `${what} invalid:\n${formatIssues(file, parsed.error.issues)}`,
    });
  return parsed.data;
}
