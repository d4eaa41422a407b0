import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { formatIssues, parseStrictYaml } from '../util/strict-yaml.ts';
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
  if (!parsed.success)
    throw new ToolcageError('config_invalid', {
      message: `Configuration invalid:\n${formatIssues(where, parsed.error.issues)}`,
    });
  return { config: parsed.data, baseDir, path: resolverFrom(baseDir) };
}

function resolverFrom(baseDir: string): (p: string) => string {
  return (p) => (isAbsolute(p) ? p : resolve(baseDir, p));
}

/** Reads and validates the config file (default `./toolcage.config.yaml`). */
export function loadConfig(file = 'toolcage.config.yaml'): LoadedConfig {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (cause) {
    throw new ToolcageError('config_invalid', {
      message: `Cannot read ${abs}: ${(cause as Error).message}.`,
      hint: 'init_workspace',
      cause,
    });
  }
  const config = parseStrictYaml(text, abs, configSchema, 'config_invalid', 'Configuration');
  return { config, baseDir: dirname(abs), path: resolverFrom(dirname(abs)) };
}
