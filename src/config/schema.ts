import { z } from 'zod';
import { governorsConfigSchema } from '../governors/config.ts';
import { credentialsConfigSchema, egressConfigSchema } from '../credentials/config.ts';
import { telemetryConfigSchema } from '../telemetry/config.ts';
import { path } from './fields.ts';
import { brokerConfigSchema } from './broker-schema.ts';
import { runnerConfigSchema } from './runner-schema.ts';
import { auditConfigSchema } from './audit-schema.ts';
import { mcpConfigSchema } from './mcp-schema.ts';

/**
 * `toolcage.config.yaml`, parsed once, strictly: an unknown key is an error
 * (a typo must not silently drop a limit). Relative paths resolve from the
 * config file's folder. Anything that weakens a guarantee is named
 * `insecure…`/`unsafe…` and is off unless the file says so.
 */
export const configSchema = z.strictObject({
  /** The CLI's default principal and tenant (the HTTP services take them from the caller's identity). */
  subject: z.string().min(1).default('local-user'),
  tenant: z.string().min(1).default('default'),
  /**
   * A dev workspace (what `toolcage init` writes): allows `toolcage dev call`, which mints
   * with the broker's private key and runs in one process. Leave it off where a runner serves.
   */
  dev: z.boolean().default(false),
  registry: z
    .strictObject({
      dir: path.default('tool-manifests'),
      /** The platform JWKS the lock must be signed by. */
      publicKeys: path.default('keys/registry.jwks.json'),
      /** Private key used by `toolcage registry lock` (keep it off runner hosts). */
      signingKey: path.default('keys/registry.private.jwk.json'),
      insecureSkipLockSignature: z.boolean().default(false),
    })
    .prefault({}),
  broker: brokerConfigSchema.prefault({}),
  runner: runnerConfigSchema.prefault({}),
  state: z
    .strictObject({
      /** `sqlite`: the embedded, durable, machine-wide default. `redis`: shared by replicas. */
      stores: z.enum(['sqlite', 'redis']).default('sqlite'),
      sqliteFile: path.default('.toolcage/state.db'),
      redis: z
        .strictObject({
          url: z.string().default('redis://127.0.0.1:6379'),
          keyPrefix: z.string().default('toolcage'),
          tls: z.boolean().default(false),
          username: z.string().optional(),
          passwordEnv: z.string().optional(),
          /**
           * Serve even when Redis's maxmemory-policy is not `noeviction`: consumed
           * claim ids and approvals may then be evicted and replayed. Default false.
           */
          unsafeAllowEviction: z.boolean().default(false),
        })
        .prefault({}),
    })
    .prefault({}),
  /** The tamper-evident audit trail (docs/audit.md). */
  audit: auditConfigSchema.prefault({}),
  sandbox: z
    .strictObject({
      js: z
        .strictObject({
          workers: z.number().int().min(1).max(64).default(2),
          /** How long a call may wait for a free JS worker before it is refused as `sandbox_unavailable` (Retry-After), never `timeout`. */
          maxQueueWaitMs: z.number().int().min(1).max(600_000).default(5_000),
        })
        .prefault({}),
      docker: z
        .strictObject({
          enabled: z.boolean().default(true),
          socketPath: path.default('/var/run/docker.sock'),
          poolSize: z.number().int().min(0).max(64).default(2),
          /** Containers one tool's warm pool starts at once (the engine's parallel ceiling, docs/performance.md); below poolSize it fills in waves. Default: max(poolSize, 8). */
          poolMaxStarting: z.number().int().min(1).max(256).optional(),
          /** OCI runtime for Docker tools: `auto` = gVisor (runsc) where registered, else runc (docs/gvisor.md). */
          runtime: z.enum(['auto', 'runsc', 'runc']).default('auto'),
        })
        .prefault({}),
    })
    .prefault({}),
  governors: governorsConfigSchema.prefault({}),
  /** Credential lanes manifests may name (src/credentials/config.ts). None by default. */
  credentials: credentialsConfigSchema.prefault({}),
  /** The egress boundary for tools that declare `network: { egress: [...] }` (src/credentials/config.ts). */
  egress: egressConfigSchema.prefault({}),
  /** `toolcage mcp`: the MCP server adapter. Nothing here is needed for stdio. */
  mcp: mcpConfigSchema.prefault({}),
  /** OpenTelemetry spans for the pipeline stages (src/telemetry/config.ts). Off by default. */
  telemetry: telemetryConfigSchema.prefault({}),
});

export type ToolcageConfig = z.infer<typeof configSchema>;
