/**
 * The JSON body parser both services use. It tells apart what fastify's
 * default parser reports as one "invalid JSON": text that is not JSON, and
 * JSON carrying a `__proto__` key or a `constructor.prototype` (prototype
 * poisoning, refused however the key is spelled, `\u005f` escapes included,
 * because JSON.parse decodes them first).
 */
import { ToolcageError } from '../errors/toolcage-error.ts';

/** Cheap pre-check: a body that cannot spell either key skips the walk. */
const MAY_POISON = /proto|constructor|\\u/;

function poisonedPath(value: unknown, path: string, depth: number): string | undefined {
  if (value === null || typeof value !== 'object' || depth > 10_000) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = poisonedPath(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    if (key === '__proto__') return `${path}.__proto__`;
    if (
      key === 'constructor' &&
      child !== null &&
      typeof child === 'object' &&
      Object.hasOwn(child, 'prototype')
    )
      return `${path}.constructor.prototype`;
    const found = poisonedPath(child, `${path}.${key.slice(0, 40)}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Parses a request body; a refusal is `request_invalid` saying which of the two it is. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0)
    throw new ToolcageError('request_invalid', {
      message: 'The body is empty; send a JSON object.',
    });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ToolcageError('request_invalid', { message: 'The body is not valid JSON.', cause });
  }
  if (MAY_POISON.test(text)) {
    const path = poisonedPath(value, '$', 0);
    if (path)
      throw new ToolcageError('request_invalid', {
        message: `The body carries a forbidden key at ${path} (prototype poisoning); remove it.`,
      });
  }
  return value;
}
