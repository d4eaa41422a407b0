import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { configSchema, type ToolcageConfig } from './schema.ts';

export interface LoadedConfig {
  config: ToolcageConfig;
  /** The folder relative paths resolve from. */
  baseDir: string;
  /** Resolves a config path against `baseDir`. */
  path(p: string): string;
}

export function parseConfig(raw: unknown, where: string, baseDir: string): LoadedConfig {
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ToolcageError('config_invalid', { message: `Configuration invalid:\n${parsed.error.issues.map((i) => `${where}: ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n')}` });
  }
  return { config: parsed.data, baseDir, path: (p) => (isAbsolute(p) ? p : resolve(baseDir, p)) };
}

/** Reads and validates the config file (default `./toolcage.config.yaml`). */
export function loadConfig(file = 'toolcage.config.yaml'): LoadedConfig {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (cause) {
    throw new ToolcageError('config_invalid', { message: `Cannot read ${abs}: ${(cause as Error).message}. Create a workspace with \`toolcage init\`, or pass --config FILE.`, cause });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true, maxAliasCount: 0 });
  } catch (cause) {
    throw new ToolcageError('config_invalid', { message: `${abs}: not valid YAML: ${(cause as Error).message}`, cause });
  }
  return parseConfig(raw, abs, dirname(abs));
}
