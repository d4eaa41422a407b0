import { z } from 'zod';
import { path } from './fields.ts';

/** `audit`: the tamper-evident audit trail (docs/audit.md). */
export const auditConfigSchema = z.strictObject({
  destination: z.enum(['file', 'stdout', 'stderr']).default('file'),
  file: path.default('.toolcage/audit.log'),
  /** Signs checkpoints (`toolcage keys generate --name audit`); without it checkpoints are unsigned. */
  signingKey: path.default('keys/audit.private.jwk.json'),
  /** The public half, for `toolcage audit verify`. */
  publicKeys: path.default('keys/audit.jwks.json'),
  checkpoint: z
    .strictObject({
      everyRecords: z.number().int().min(1).max(1_000_000).default(1000),
      everySeconds: z.number().positive().max(86_400).default(60),
    })
    .prefault({}),
  rotate: z
    .strictObject({
      maxBytes: z
        .number()
        .int()
        .min(4096)
        .default(64 * 1024 * 1024),
      /** Also rotate files older than this; absent: by size only. */
      everySeconds: z.number().int().min(1).optional(),
    })
    .prefault({}),
  /** fdatasync after: `never`, each `checkpoint` (default), or `always` (every batch). */
  fsync: z.enum(['never', 'checkpoint', 'always']).default('checkpoint'),
  /** Roles that may read the trail through `GET /v1/audit` on the broker. */
  readerRoles: z.array(z.string().min(1)).min(1).default(['auditor']),
});
