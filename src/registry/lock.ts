import { CompactSign, compactVerify, createLocalJWKSet, base64url, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { ALLOWED_ALGS, type SigningKey } from '../claims/keys.ts';
import { canonicalJson } from '../util/hash.ts';

export const LOCK_FILE_NAME = 'registry.lock.json';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const lockEntrySchema = z.strictObject({
  id: z.string(),
  version: z.string(),
  runtime: z.enum(['js', 'docker']),
  /** Manifest path relative to the manifests folder. */
  manifest: z.string(),
  manifestSha256: hex64,
  /** js: entry path relative to the manifests folder; docker: the image reference. */
  artifact: z.string(),
  artifactSha256: hex64,
});

export const lockSchema = z.strictObject({
  version: z.literal(1),
  tools: z.array(lockEntrySchema),
  /** Detached compact JWS (RFC 7515 appendix F) over the JCS of the lock without this member. */
  signature: z.string().optional(),
});

export type LockEntry = z.infer<typeof lockEntrySchema>;
export type RegistryLock = z.infer<typeof lockSchema>;

function signedBytes(lock: RegistryLock): Uint8Array {
  const { signature: _signature, ...body } = lock;
  return new TextEncoder().encode(canonicalJson(body));
}

/** Signs the lock's canonical form with the platform key; the payload is detached (`header..signature`). */
export async function signLock(lock: RegistryLock, key: SigningKey): Promise<RegistryLock> {
  const jws = await new CompactSign(signedBytes(lock))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'toolcage-lock+jws' })
    .sign(key.key);
  const [header, , sig] = jws.split('.');
  return { ...lock, signature: `${header}..${sig}` };
}

/** Verifies the lock's detached signature against the platform JWKS. Throws `registry_invalid`. */
export async function verifyLockSignature(
  lock: RegistryLock,
  jwks: JSONWebKeySet,
  where: string,
): Promise<void> {
  if (!lock.signature) {
    throw new ToolcageError('registry_invalid', {
      message: `${where} is not signed: lock the registry with the platform key, or set registry.insecureSkipLockSignature for local experiments.`,
      hint: 'lock_registry',
    });
  }
  const [header, empty, sig, ...rest] = lock.signature.split('.');
  if (empty !== '' || rest.length > 0 || !header || !sig) {
    throw new ToolcageError('registry_invalid', {
      message: `${where}: signature is not a detached compact JWS.`,
    });
  }
  const jws = `${header}.${base64url.encode(signedBytes(lock))}.${sig}`;
  try {
    await compactVerify(jws, createLocalJWKSet(jwks), { algorithms: [...ALLOWED_ALGS] });
  } catch (cause) {
    throw new ToolcageError('registry_invalid', {
      message: `${where}: signature does not verify against the platform key; the lock was changed or signed by another key.`,
      cause,
    });
  }
}

export function parseLock(text: string, where: string): RegistryLock {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new ToolcageError('registry_invalid', { message: `${where}: not JSON.`, cause });
  }
  const parsed = lockSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ToolcageError('registry_invalid', {
      message: `${where}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    });
  }
  const ids = new Set<string>();
  for (const t of parsed.data.tools) {
    if (ids.has(t.id))
      throw new ToolcageError('registry_invalid', {
        message: `${where}: tool ${t.id} is pinned twice.`,
      });
    ids.add(t.id);
  }
  return parsed.data;
}
