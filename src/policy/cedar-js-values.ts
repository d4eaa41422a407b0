/**
 * Cedar values as the JavaScript evaluator (cedar-js.ts) holds them, and the
 * operations on them whose exact semantics are Cedar's:
 *
 * - Boolean → `boolean`, String → `string`.
 * - Long (i64) → a `number` when it is a safe integer, else a `bigint`. The
 *   form is canonical (a value in the safe range is never a `bigint`), so
 *   `===` is Cedar's equality on Longs, and `<` compares number and bigint
 *   exactly. Arithmetic that leaves i64 is an error, as in Cedar.
 * - Set → an array (order and repeats do not matter: equality is set equality).
 * - Record → a plain object, attributes are own properties.
 * - Entity reference → `Uid`.
 *
 * Extension values (decimal, ip, datetime, duration) have no form here: a
 * policy that could make one is not compiled (cedar-js-compile.ts).
 */
export class Uid {
  readonly type: string;
  readonly id: string;
  constructor(type: string, id: string) {
    this.type = type;
    this.id = id;
  }
}

export type Value = boolean | string | number | bigint | Uid | Value[] | { [k: string]: Value };

/** An evaluation error: the policy being evaluated errors (Cedar skips it and reports it). */
export class CedarEvalError extends Error {}

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);

export const isLong = (v: Value): v is number | bigint =>
  typeof v === 'number' || typeof v === 'bigint';
export const isSet = (v: Value): v is Value[] => Array.isArray(v);
export const isRecord = (v: Value): v is { [k: string]: Value } =>
  typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uid);

export function typeName(v: Value): string {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (isLong(v)) return 'long';
  if (v instanceof Uid) return `(entity of type \`${v.type}\`)`;
  return Array.isArray(v) ? 'set' : 'record';
}

export function typeError(expected: string, got: Value): CedarEvalError {
  return new CedarEvalError(`type error: expected ${expected}, got ${typeName(got)}`);
}

export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Uid) return b instanceof Uid && a.type === b.type && a.id === b.id;
  if (b instanceof Uid) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b)) return false;
    const inA = membership(a);
    const inB = membership(b);
    return a.every(inB) && b.every(inA);
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && equal(a[k]!, b[k]!));
}

export function contains(set: readonly Value[], v: Value): boolean {
  for (const x of set) if (equal(x, v)) return true;
  return false;
}

/** Past this many elements a set's primitive members are hashed (sets from arguments can be long). */
const HASH_FROM = 16;

/**
 * A membership test for `set`, linear for a short set; for a long one its
 * primitive elements go in a JavaScript Set (exact: a Long has one canonical
 * form, and SameValueZero is `===` on these types), and only entity, set and
 * record elements are scanned, so `containsAll`/`containsAny`/`==` on two long
 * argument sets are not quadratic.
 */
export function membership(set: readonly Value[]): (v: Value) => boolean {
  if (set.length < HASH_FROM) return (v) => contains(set, v);
  const primitives = new Set<Value>();
  const others: Value[] = [];
  for (const x of set) {
    if (typeof x === 'object') others.push(x);
    else primitives.add(x);
  }
  return (v) => (typeof v === 'object' ? contains(others, v) : primitives.has(v));
}

/** The canonical Long of an exact integer, or an overflow error naming the operation. */
function long(r: bigint, what: string, a: Value, b?: Value): number | bigint {
  if (r > I64_MAX || r < I64_MIN)
    throw new CedarEvalError(
      `integer overflow while attempting to ${what} the value${b === undefined ? ` \`${a}\`` : `s \`${a}\` and \`${b}\``}`,
    );
  return r >= -(2n ** 53n) + 1n && r <= 2n ** 53n - 1n ? Number(r) : r;
}

/**
 * `+`, `-`, `*` on Longs. With two numbers the float result is exact whenever
 * it is a safe integer (the exact result is then representable; a larger one
 * rounds to at least 2^53), so only a result outside the safe range is redone
 * in bigint, where i64 overflow is checked.
 */
export function arith(op: '+' | '-' | '*', a: Value, b: Value): number | bigint {
  if (!isLong(a)) throw typeError('long', a);
  if (!isLong(b)) throw typeError('long', b);
  if (typeof a === 'number' && typeof b === 'number') {
    const r = op === '+' ? a + b : op === '-' ? a - b : a * b;
    if (Number.isSafeInteger(r)) return r === 0 ? 0 : r; // no -0
  }
  const x = BigInt(a);
  const y = BigInt(b);
  const what = op === '+' ? 'add' : op === '-' ? 'subtract' : 'multiply';
  return long(op === '+' ? x + y : op === '-' ? x - y : x * y, what, a, b);
}

export function negate(a: Value): number | bigint {
  if (!isLong(a)) throw typeError('long', a);
  if (typeof a === 'number') return a === 0 ? 0 : -a;
  return long(-a, 'negate', a);
}

/**
 * Cedar's `like`: `*` matches any run of characters, everything else itself.
 * Linear in the text per wildcard restart (the classic two-pointer match),
 * never a backtracking regular expression an argument could make explode.
 * Compared by UTF-16 code unit: the text is well-formed (cedar-js.ts sends
 * anything else to cedar-wasm) and a pattern element is a whole code point,
 * so no match can split a surrogate pair.
 */
export function like(text: string, pattern: ReadonlyArray<string | null>): boolean {
  // pattern: each element a literal code unit string, or null for `*`.
  let t = 0;
  let p = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    const el = p < pattern.length ? pattern[p] : undefined;
    if (el === null) {
      star = p++;
      mark = t;
    } else if (el !== undefined && text.charCodeAt(t) === el.charCodeAt(0)) {
      t++;
      p++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === null) p++;
  return p === pattern.length;
}
