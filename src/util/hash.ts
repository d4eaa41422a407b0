import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { ToolcageError } from '../errors/toolcage-error.ts';

/**
 * RFC 8785 (JCS) canonical JSON. Key order and number spelling cannot change
 * it, so `{"b":1,"a":1.0}` and `{"a":1,"b":1}` hash alike.
 */
export function canonicalJson(value: unknown, root = 'value'): string {
  const bad = firstNonJson(value, root);
  if (bad !== undefined) {
    throw new ToolcageError('request_invalid', {
      message: `${bad.path} ${bad.why}, so it cannot be canonicalised as JSON (RFC 8785). Send a finite number that fits a double.`,
      details: { field: bad.path },
    });
  }
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
  return argsHashOfCanonical(canonicalJson(args, 'args'));
}

/**
 * The first value JCS cannot write, with its path (`args.a[1]`): JSON text
 * like `1e400` parses to Infinity, which the canonicaliser refuses with a
 * plain Error. Iterative, so a deep value cannot overflow the stack here.
 */
function firstNonJson(value: unknown, root: string): { path: string; why: string } | undefined {
  const stack: Array<[unknown, string]> = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'number') {
      if (!Number.isFinite(v))
        return { path, why: 'is a number too large for JSON (Infinity or NaN)' };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v !== null && typeof v === 'object') {
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') continue;
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--)
        stack.push([entries[i]![1], `${path}${fieldSuffix(entries[i]![0])}`]);
    } else if (typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'function') {
      return { path, why: `is a ${typeof v}, which JSON has no form for` };
    }
  }
  return undefined;
}

function fieldSuffix(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)
    ? `.${key}`
    : `[${JSON.stringify(key.slice(0, 64))}]`;
}

/** `args_hash` of arguments already in RFC 8785 form (when the caller needs the text too). */
export function argsHashOfCanonical(canonical: string): string {
  return `sha256:${sha256Hex(canonical)}`;
}
