import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CLI } from './helpers.ts';

export interface BrokerProcess {
  url: string;
  output: string[];
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

/** `toolcage broker serve --config FILE` as its own process on a free loopback port. */
export async function startBrokerProcess(configFile: string): Promise<BrokerProcess> {
  const child = spawn(
    process.execPath,
    [CLI, 'broker', 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`broker did not start:\n${output.join('')}`)),
        30_000,
      );
      void exited.then(() => reject(new Error(`broker exited:\n${output.join('')}`)));
      child.stdout.on('data', (chunk: Buffer) => {
        for (const line of String(chunk).split('\n').filter(Boolean)) {
          output.push(line);
          const m = /"url":"(http:\/\/[^"]+)".*toolcage broker listening/.exec(line);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        }
      });
      child.stderr.on('data', (chunk: Buffer) => output.push(String(chunk)));
    });
    return { url, output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Deep-merges `patch` into the YAML config file. */
export function patchConfig(file: string, patch: Record<string, unknown>): void {
  const merge = (target: Record<string, unknown>, src: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(src)) {
      const t = target[k];
      if (v && typeof v === 'object' && !Array.isArray(v) && t && typeof t === 'object')
        merge(t as Record<string, unknown>, v as Record<string, unknown>);
      else target[k] = v;
    }
  };
  const raw = parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown>;
  merge(raw, patch);
  writeFileSync(file, stringifyYaml(raw, { aliasDuplicateObjects: false }));
}

/**
 * The MCP host's own folder: a copy of the broker's workspace (same registry
 * and lock) without the broker's private signing key, which stays with the broker.
 */
export function mcpHostCopy(brokerDir: string): { dir: string; config: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'toolcage-mcp-host-'));
  cpSync(brokerDir, dir, { recursive: true });
  rmSync(join(dir, 'keys', 'broker.private.jwk.json'));
  rmSync(join(dir, '.toolcage'), { recursive: true, force: true });
  return {
    dir,
    config: join(dir, 'toolcage.config.yaml'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
