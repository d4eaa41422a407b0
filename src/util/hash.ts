import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ToolcageError } from '../errors/toolcage-error.ts';

/**
 * RFC 8785 (JCS) canonical JSON. Key order and number spelling cannot change
 * it, so `{"b":1,"a":1.0}` and `{"a":1,"b":1}` hash alike.
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) {
    throw new ToolcageError('request_invalid', {
      message: 'Value cannot be canonicalised as JSON (RFC 8785).',
    });
  }
  return text;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The contract's `args_hash`: `"sha256:" + hex(sha256(JCS(args)))`. */
export function argsHash(args: unknown): string {
  return argsHashOfCanonical(canonicalJson(args));
}

/** `args_hash` of arguments already in RFC 8785 form (when the caller needs the text too). */
export function argsHashOfCanonical(canonical: string): string {
  return `sha256:${sha256Hex(canonical)}`;
}
