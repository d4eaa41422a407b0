import { calculateJwkThumbprint, type JWK } from 'jose';
import { publicJwkOf } from '../claims/keys.ts';
import { readJsonFile } from './io.ts';

/** RFC 7638 thumbprint of the public half of a private JWK file: the claim's `cnf.jkt`. */
export async function jwkThumbprintOfKeyFile(file: string): Promise<string> {
  return calculateJwkThumbprint(publicJwkOf(readJsonFile(file, 'DPoP key') as JWK));
}
