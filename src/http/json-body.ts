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

/** The path of the first poisoning key, walked without recursion (a deep body cannot overflow the stack). */
function poisonedPath(root: unknown): string | undefined {
  const stack: [unknown, string][] = [[root, '$']];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--)
        stack.push([value[i], path.length > 200 ? path : `${path}[${i}]`]);
      continue;
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
      // Paths are for the message only: long or deep ones are cut when shown.
      if (child !== null && typeof child === 'object')
        stack.push([child, path.length > 200 ? path : `${path}.${key.slice(0, 40)}`]);
    }
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
    const path = poisonedPath(value);
    if (path)
      throw new ToolcageError('request_invalid', {
        message: `The body carries a forbidden key at ${path} (prototype poisoning); remove it.`,
      });
  }
  return value;
}
