import { z } from 'zod';
import { path, port } from './fields.ts';

/** `runner`: which claims the runner accepts, input limits, and its HTTP service. */
export const runnerConfigSchema = z.strictObject({
  audience: z.string().min(1).default('toolcage-runner'),
  trustedIssuers: z.array(z.string().min(1)).min(1).default(['toolcage-broker']),
  brokerKeys: z
    .union([
      z.strictObject({ jwksFile: path }),
      z.strictObject({
        jwksUrl: z.url(),
        cacheMaxAgeMs: z.number().int().positive().optional(),
        cooldownMs: z.number().int().positive().optional(),
      }),
    ])
    .default({ jwksFile: 'keys/broker.jwks.json' }),
  maxTtlSeconds: z.number().int().positive().max(3600).default(300),
  clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
  input: z
    .strictObject({
      maxBytes: z
        .number()
        .int()
        .positive()
        .default(1024 * 1024),
      maxDepth: z.number().int().positive().max(1000).default(64),
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: port.default(8080),
      bodyLimitBytes: z
        .number()
        .int()
        .positive()
        .default(1024 * 1024),
      requestTimeoutMs: z.number().int().positive().default(60_000),
      shutdownGraceMs: z.number().int().positive().default(10_000),
      headersTimeoutMs: z.number().int().positive().default(10_000),
      keepAliveTimeoutMs: z.number().int().positive().default(5_000),
      /** The externally visible base URL (behind a proxy): DPoP proofs' `htu` is checked against it. Default: the request's own scheme and Host. */
      publicUrl: z.url().optional(),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).default('info'),
      /** DPoP proofs (RFC 9449): how old an `iat` may be, and the clock skew allowed either way. */
      dpopMaxAgeSeconds: z.number().int().positive().max(600).default(60),
      dpopClockToleranceSeconds: z.number().int().min(0).max(60).default(5),
    })
    .prefault({}),
});
