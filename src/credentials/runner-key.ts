/**
 * The runner's own signing key, for tokens it mints (`minted` lanes, and the
 * subject token of `exchange` lanes). Its public half is the runner JWKS a
 * downstream verifies those tokens against; the HTTP service can serve
 * `runnerJwks(...)` at a well-known path.
 */
import { readFileSync } from 'node:fs';
import type { JSONWebKeySet, JWK } from 'jose';
import { publicJwkOf, signingKeyFromJwk, type SigningKey } from '../claims/keys.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';

export interface RunnerKey {
  signing: SigningKey;
  jwks: JSONWebKeySet;
}

function readJwk(file: string): JWK {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } catch (cause) {
    throw new ToolcageError('config_invalid', {
      message: `credentials.signingKey: cannot read the runner's private key from ${file}.`,
      hint: 'generate_key',
      cause,
    });
  }
}

/** Loads the runner's private JWK (written by `toolcage keys generate`). */
export async function loadRunnerKey(file: string): Promise<RunnerKey> {
  const jwk = readJwk(file);
  const signing = await signingKeyFromJwk(jwk, `credentials.signingKey (${file})`);
  return { signing, jwks: { keys: [{ ...publicJwkOf(jwk), kid: signing.kid, alg: signing.alg }] } };
}

/**
 * The public JWKS of the runner's minting key, from configuration; empty
 * when no `credentials.signingKey` is configured. For the HTTP service to
 * publish (e.g. `GET /.well-known/runner-jwks.json`).
 */
export function runnerJwks(loaded: { config: unknown; path(p: string): string }): JSONWebKeySet {
  const file = (loaded.config as { credentials?: { signingKey?: string } }).credentials?.signingKey;
  if (file === undefined) return { keys: [] };
  const jwk = readJwk(loaded.path(file));
  if (typeof jwk.kid !== 'string')
    throw new ToolcageError('config_invalid', {
      message: 'credentials.signingKey: the key has no kid.',
      hint: 'generate_key',
    });
  return { keys: [publicJwkOf(jwk)] };
}
