import { z } from 'zod';
import { parseStrictYaml } from '../util/strict-yaml.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { checkScopeTemplates } from '../policy/scope-template.ts';
import type { ToolManifest } from '../ports/tool.ts';

export const TOOL_ID_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const SCOPE = /^[A-Za-z0-9_.:\-/]+$/;

const positiveInt = (max: number) => z.number().int().positive().max(max);

const jsonSchemaObject = z
  .record(z.string(), z.unknown())
  .refine((s) => s.type === 'object', { message: 'must be a JSON Schema with type: object' });

const limitsSchema = z.strictObject({
  timeoutMs: positiveInt(600_000),
  memoryMb: positiveInt(8192),
  maxOutputBytes: positiveInt(64 * 1024 * 1024),
  cpus: z.number().positive().max(64).optional(),
  pids: positiveInt(4096).optional(),
});

const credentialRefSchema = z.strictObject({
  lane: z.string().regex(/^[a-z][a-z0-9_-]*$/),
  as: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
  scopes: z.array(z.string().regex(SCOPE)).default([]),
  expose: z.enum(['egress', 'file', 'env']).default('egress'),
});

const egressSchema = z.strictObject({
  egress: z
    .array(z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }))
    .min(1),
});

const common = {
  id: z.string().regex(TOOL_ID_PATTERN, 'must look like text.word_count'),
  version: z.string().regex(SEMVER, 'must be semver, e.g. 1.0.0'),
  description: z.string().min(1).max(2000),
  inputSchema: jsonSchemaObject,
  outputSchema: jsonSchemaObject,
  limits: limitsSchema,
  network: z.union([z.literal('none'), egressSchema]).default('none'),
  scopes: z.array(z.string().regex(SCOPE)).default([]),
  /**
   * Scopes rendered from the validated arguments (`repo:{/repo}/pull:{/pull}`),
   * placeholders being JSON Pointers; optional so that existing manifests keep their hash.
   */
  scopeTemplates: z.array(z.string().min(1).max(200)).min(1).max(16).optional(),
  risk: z.enum(['low', 'medium', 'high']),
  credentials: z.array(credentialRefSchema).default([]),
  cost: z.number().int().min(0).max(1_000_000).default(1),
  /**
   * How the tool behaves, for clients that show or gate tools by it (MCP tool
   * annotations). Hints only: nothing is enforced by them. Defaults by risk:
   * low is read-only; medium and high may change things, high destructively.
   */
  hints: z
    .strictObject({
      title: z.string().min(1).max(200).optional(),
      readOnly: z.boolean().optional(),
      destructive: z.boolean().optional(),
      idempotent: z.boolean().optional(),
    })
    .optional(),
};

/** The manifest, parsed strictly: unknown keys are refused (a typo must not silently drop a limit). */
export const manifestSchema = z.discriminatedUnion('runtime', [
  z.strictObject({
    ...common,
    runtime: z.literal('js'),
    entry: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+\.(m?js)$/, 'must be a .js/.mjs file name beside the manifest'),
  }),
  z.strictObject({
    ...common,
    runtime: z.literal('docker'),
    image: z.string().regex(/^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$/),
    command: z.array(z.string()).min(1),
    /** `gvisor`: run only under gVisor (runsc); refused with sandbox_unavailable where the engine lacks it. */
    isolation: z.enum(['gvisor']).optional(),
  }),
]);

/** The schema's output, checked by the compiler against the port type in `parseManifest`. */
export type Manifest = ToolManifest;

/** Parses manifest YAML text. Throws `registry_invalid` naming the file and each failing field. */
export function parseManifest(text: string, file: string): Manifest {
  const manifest = parseStrictYaml(text, file, manifestSchema, 'registry_invalid', 'Manifest');
  if (
    manifest.runtime === 'docker' &&
    (manifest.limits.cpus === undefined || manifest.limits.pids === undefined)
  ) {
    throw new ToolcageError('registry_invalid', {
      message: `${file}: limits: docker tools must set cpus and pids`,
    });
  }
  if (manifest.scopeTemplates)
    checkScopeTemplates(manifest.scopeTemplates, manifest.inputSchema, file);
  return manifest;
}
