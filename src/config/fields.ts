import { z } from 'zod';

/** A path in the config: relative ones resolve from the config file's folder. */
export const path = z.string().min(1);
/** A TCP port; 0 asks the system for a free one. */
export const port = z.number().int().min(0).max(65535);
/** Identity-token signature algorithms: RFC 8725 §3.1, the allowlist decides, never the token header. */
export const tokenAlgorithms = z
  .array(z.enum(['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']))
  .min(1)
  .default(['ES256', 'EdDSA', 'RS256']);
/** Seconds of clock skew allowed on `exp`/`nbf`/`iat`. */
export const clockToleranceSeconds = z.number().int().min(0).max(300).default(30);
