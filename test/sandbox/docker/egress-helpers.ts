/**
 * Docker egress test kit: a backend wired to a real EgressGateway whose
 * allowlists the test sets per tool, tools from the test image's
 * egress-client (built from sandboxes/docker/test-attack/egress-client.c
 * with gcc -static), and the check that the image can be built here.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { EgressGateway, type EgressEvent, type EgressRule } from '../../../src/egress/index.ts';
import type { RunLimits, SandboxTool } from '../../../src/ports/sandbox.ts';
import {
  createDockerBackend,
  loadRecipe,
  type DockerBackend,
} from '../../../src/sandbox/docker/index.ts';
import { compileStatic } from '../../../src/sandbox/docker/build/recipe.ts';
import { attackTool, dockerRuntime, uniqueRunnerId } from './helpers.ts';

/**
 * Builds the test image's egress client, or throws saying why: the tests
 * that need it fail loudly rather than skip (gcc and the static libc come
 * from scripts/setup.sh, so a missing one is a broken setup).
 */
export function requireEgressClient(): void {
  try {
    compileStatic(loadRecipe('test-attack'), 'egress-client.c');
  } catch (err) {
    throw new Error(
      `The Docker egress client cannot be built (${(err as Error).message}). Run scripts/setup.sh: it installs gcc and libc6-dev.`,
      { cause: err },
    );
  }
}

export interface EgressBackend {
  backend: DockerBackend;
  gateway: EgressGateway;
  runnerId: string;
  events: EgressEvent[];
  /** This backend's own folder for file credentials (under /dev/shm); empty whenever no call runs. */
  secretsDir: string;
  /** Disposes the backend and removes its secrets folder. */
  close(): Promise<void>;
  /** Sets a tool's allowlist (by tool id); tools not set here have `network: none`. */
  allow(toolId: string, rules: EgressRule[]): void;
}

export function egressBackend(name: string): EgressBackend {
  const rules = new Map<string, EgressRule[]>();
  const events: EgressEvent[] = [];
  const gateway = new EgressGateway({
    rulesFor: (t) => rules.get(t.id),
    unsafeAllowPrivateAddresses: ['127.0.0.1/32'],
    onEvent: (e) => events.push(e),
  });
  const runnerId = uniqueRunnerId(name);
  // A pool is on, so the tests also prove that egress and credential calls never take a pooled container.
  const secretsDir = mkdtempSync('/dev/shm/toolcage-test-secrets-');
  const backend = createDockerBackend({
    runtime: dockerRuntime,
    runnerId,
    pool: { size: 1 },
    egress: gateway,
    secretsDir,
  });
  return {
    backend,
    gateway,
    runnerId,
    events,
    secretsDir,
    allow: (id, r) => rules.set(id, r),
    async close() {
      await backend.dispose();
      rmSync(secretsDir, { recursive: true, force: true });
    },
  };
}

/** A tool that sends one request through the egress socket and prints `{status, egress, body}` or `{error}`. */
export async function egressClientTool(
  id: string,
  method: string,
  url: string,
  limits: Partial<RunLimits> = {},
): Promise<SandboxTool> {
  return { ...(await attackTool('egress-client', [method, url], limits)), id };
}

/** What is left in a backend's secrets folder (nothing, between calls). */
export function secretsLeft(k: EgressBackend): string[] {
  return readdirSync(k.secretsDir);
}
