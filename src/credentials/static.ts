import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToolcageError } from '../errors/toolcage-error.ts';
import {
  MIN_SECRET_LENGTH,
  type CredentialLane,
  type LaneContext,
  type LaneCredential,
} from './lane.ts';
import type { LaneConfig } from './config.ts';

type StaticConfig = Extract<LaneConfig, { kind: 'static' }>;

const TENANT_FILE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * `static`: a secret the platform stores, read fresh for each run (so a
 * rotation on disk or in the runner's environment takes effect at once):
 * a file, a folder with one file per tenant, or an environment variable of
 * the runner. The runner cannot shorten such a secret's life; it only
 * hands it out for the run (injected at the egress boundary by default)
 * and scans for it afterwards. Prefer `minted` or `exchange` where the
 * downstream supports them.
 */
export class StaticLane implements CredentialLane {
  readonly name: string;
  readonly config: StaticConfig;
  readonly #resolvePath: (p: string) => string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(
    name: string,
    config: StaticConfig,
    resolvePath: (p: string) => string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.name = name;
    this.config = config;
    this.#resolvePath = resolvePath;
    this.#env = env;
  }

  async issue(ctx: LaneContext): Promise<LaneCredential> {
    const c = this.config;
    let value: string | undefined;
    if (c.env !== undefined) {
      value = this.#env[c.env];
    } else {
      let file: string;
      if (c.dir !== undefined) {
        if (!TENANT_FILE.test(ctx.claim.tenant))
          throw this.#unavailable(`has no secret for tenant "${ctx.claim.tenant.slice(0, 64)}"`);
        file = join(this.#resolvePath(c.dir), ctx.claim.tenant);
      } else {
        file = this.#resolvePath(c.file!);
      }
      try {
        value = readFileSync(file, 'utf8');
      } catch {
        value = undefined;
      }
    }
    value = value?.replace(/\r?\n$/, '');
    if (value === undefined || value === '')
      throw this.#unavailable(
        c.dir !== undefined
          ? `has no secret for tenant "${ctx.claim.tenant.slice(0, 64)}"`
          : 'has no secret configured (its file or environment variable is missing or empty)',
      );
    if (value.length < MIN_SECRET_LENGTH)
      throw this.#unavailable(
        `holds a secret shorter than ${MIN_SECRET_LENGTH} characters, too short to scan for leaks`,
      );
    return { value };
  }

  #unavailable(what: string): ToolcageError {
    return new ToolcageError('sandbox_unavailable', {
      message: `The credential lane "${this.name}" ${what}. Ask the operator to fix credentials.lanes.${this.name} in the runner's config.`,
    });
  }
}
