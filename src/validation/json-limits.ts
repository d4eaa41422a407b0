/**
 * Structural caps applied before schema validation, so that a hostile value
 * (deeply nested arrays, a huge object) costs a bounded amount of work.
 */
export interface JsonShapeLimits {
  maxDepth: number;
  maxBytes: number;
}

export const DEFAULT_INPUT_LIMITS: JsonShapeLimits = { maxDepth: 64, maxBytes: 1024 * 1024 };

/** Returns the first violated limit, or undefined. Depth is checked iteratively (no recursion to blow the stack). */
export function checkJsonShape(
  value: unknown,
  limits: JsonShapeLimits,
  byteLength: number,
): string | undefined {
  if (byteLength > limits.maxBytes)
    return `are ${byteLength} bytes, above the ${limits.maxBytes}-byte cap`;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > limits.maxDepth) return `nest deeper than ${limits.maxDepth} levels`;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return undefined;
}
