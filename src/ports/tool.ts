import type { ToolSummary } from './execute.ts';
import type { SandboxTool } from './sandbox.ts';

/** A JSON Schema compiled once: `ok`, or the reasons a value does not match. */
export type JsonValidator = (value: unknown) => { ok: true } | { ok: false; errors: string[] };

interface ManifestCommon {
  id: string;
  version: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
  limits: {
    timeoutMs: number;
    memoryMb: number;
    maxOutputBytes: number;
    cpus?: number | undefined;
    pids?: number | undefined;
  };
  network: 'none' | { egress: { host: string; port: number }[] };
  scopes: string[];
  /** Scopes rendered from the validated arguments (`repo:{/repo}/pull:{/pull}`). */
  scopeTemplates?: string[] | undefined;
  risk: 'low' | 'medium' | 'high';
  credentials: { lane: string; as: string; scopes: string[]; expose: 'egress' | 'file' | 'env' }[];
  cost: number;
  /** Behaviour hints for clients (MCP tool annotations); nothing is enforced by them. */
  hints?:
    | {
        title?: string | undefined;
        readOnly?: boolean | undefined;
        destructive?: boolean | undefined;
        idempotent?: boolean | undefined;
      }
    | undefined;
}

/**
 * A tool manifest after strict parsing (src/registry/manifest.ts parses it;
 * the compiler checks that its schema produces exactly this shape).
 */
export type ToolManifest =
  | (ManifestCommon & { runtime: 'js'; entry: string })
  | (ManifestCommon & {
      runtime: 'docker';
      image: string;
      command: string[];
      /** `gvisor`: run only under gVisor (runsc); refused where the engine lacks it. */
      isolation?: 'gvisor' | undefined;
    });

/** A tool that passed every pin: what the executor runs. */
export interface LoadedTool {
  manifest: ToolManifest;
  manifestSha256: string;
  artifactSha256: string;
  validateInput: JsonValidator;
  validateOutput: JsonValidator;
  sandbox: SandboxTool;
  summary: ToolSummary;
}

/** The verified tools as the executor sees them now (a reload swaps them atomically). */
export interface ToolSource {
  get(id: string): LoadedTool | undefined;
  list(): LoadedTool[];
  /** Pinned tools not served because they cannot run (bad schema, entry or image), with their problems. */
  readonly withheld: readonly WithheldTool[];
}

export interface WithheldTool {
  id: string;
  problems: string[];
}
