import { ToolcageError } from '../errors/toolcage-error.ts';

/**
 * Scope templates: `repo:{/repo}/pull:{/pull}`. The literal parts use the
 * manifest's scope alphabet; each `{...}` is a JSON Pointer (RFC 6901) into
 * the call's arguments. The broker renders them into the claim, the runner
 * renders them again from the arguments it is about to run and refuses a
 * difference, so a claim is only good for the resource its arguments name.
 *
 * Values are not escaped but refused when they hold anything outside
 * `[A-Za-z0-9_.-]` (or are longer than 128 characters): a `/`, `:` or `*`
 * could forge another scope or a wildcard, and non-ASCII could forge a
 * look-alike (`pаyments` with a Cyrillic а). Refusing keeps the rendered
 * scope readable and equal to the value the tool receives.
 */
export interface CompiledTemplate {
  source: string;
  /** Literal text, then placeholder, alternately: literals.length === pointers.length + 1. */
  literals: string[];
  pointers: string[][];
  pointerText: string[];
}

const LITERAL = /^[A-Za-z0-9_.:\-/]*$/;
const VALUE = /^[A-Za-z0-9_.-]{1,128}$/;

/** Parses one template; throws a plain Error (the caller names the file and field). */
export function compileTemplate(source: string): CompiledTemplate {
  const literals: string[] = [];
  const pointers: string[][] = [];
  const pointerText: string[] = [];
  let rest = source;
  for (;;) {
    const open = rest.indexOf('{');
    const close = rest.indexOf('}');
    if (open < 0) {
      if (close >= 0) throw new Error(`unbalanced "}" in "${source}"`);
      literals.push(rest);
      break;
    }
    if (close < open) throw new Error(`unbalanced "}" in "${source}"`);
    literals.push(rest.slice(0, open));
    const pointer = rest.slice(open + 1, close);
    if (!pointer.startsWith('/') || pointer.includes('{'))
      throw new Error(`placeholder {${pointer}} is not a JSON Pointer such as {/repo}`);
    pointerText.push(pointer);
    pointers.push(
      pointer
        .slice(1)
        .split('/')
        .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~')),
    );
    rest = rest.slice(close + 1);
  }
  for (const l of literals)
    if (!LITERAL.test(l))
      throw new Error(`"${source}" holds characters outside [A-Za-z0-9_.:-/] or a "*"`);
  if (pointers.length === 0) throw new Error(`"${source}" has no placeholder; list it in scopes`);
  return { source, literals, pointers, pointerText };
}

type JsonSchema = Record<string, unknown>;

/** Why `pointer` is not a required string/integer property of `schema`, or undefined when it is. */
export function pointerProblem(schema: JsonSchema, pointer: string[]): string | undefined {
  let node: JsonSchema = schema;
  for (const token of pointer) {
    const props = node.properties as Record<string, JsonSchema> | undefined;
    const required = Array.isArray(node.required) ? (node.required as string[]) : [];
    if (node.type !== 'object' || !props || !Object.hasOwn(props, token))
      return `the input schema has no property "${token}" there`;
    if (!required.includes(token)) return `property "${token}" is not required`;
    node = props[token]!;
  }
  if (node.type !== 'string' && node.type !== 'integer')
    return `it points at a ${JSON.stringify(node.type ?? 'untyped')} value, not a string or integer`;
  return undefined;
}

/** Compiles every template and checks its pointers against the input schema; throws `registry_invalid`. */
export function checkScopeTemplates(
  templates: readonly string[],
  inputSchema: JsonSchema,
  where: string,
): CompiledTemplate[] {
  return templates.map((t, i) => {
    let compiled: CompiledTemplate;
    try {
      compiled = compileTemplate(t);
    } catch (cause) {
      throw new ToolcageError('registry_invalid', {
        message: `${where}: scopeTemplates.${i}: ${(cause as Error).message}.`,
        cause,
      });
    }
    compiled.pointers.forEach((p, j) => {
      const problem = pointerProblem(inputSchema, p);
      if (problem)
        throw new ToolcageError('registry_invalid', {
          message: `${where}: scopeTemplates.${i}: placeholder {${compiled.pointerText[j]}} must name a required string or integer property of inputSchema; ${problem}.`,
        });
    });
    return compiled;
  });
}

function lookup(args: unknown, pointer: string[]): unknown {
  let v: unknown = args;
  for (const token of pointer) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, token))
      return undefined;
    v = (v as Record<string, unknown>)[token];
  }
  return v;
}

/** Renders templates from arguments; a missing or unsafe value is `input_invalid` naming the tool and field. */
export function renderScopes(
  toolId: string,
  templates: readonly CompiledTemplate[],
  args: unknown,
): string[] {
  const out: string[] = [];
  for (const t of templates) {
    let s = t.literals[0]!;
    for (let i = 0; i < t.pointers.length; i++) {
      const v = lookup(args, t.pointers[i]!);
      let text: string;
      if (typeof v === 'string' && VALUE.test(v)) text = v;
      else if (typeof v === 'number' && Number.isSafeInteger(v)) text = String(v);
      else
        throw new ToolcageError('input_invalid', {
          message: `${toolId}: argument ${t.pointerText[i]} renders the scope template "${t.source}" and ${describe(v)}. Use a value of letters, digits, "_", "." or "-" (at most 128) or a whole number.`,
          details: { field: t.pointerText[i], template: t.source },
        });
      s += text + t.literals[i + 1]!;
    }
    out.push(s);
  }
  return out;
}

function describe(v: unknown): string {
  if (v === undefined) return 'is missing';
  if (typeof v === 'string') {
    if (v.length === 0) return 'is empty';
    if (v.length > 128) return 'is longer than 128 characters';
    // eslint-disable-next-line no-control-regex
    if (/[^\x00-\x7f]/.test(v)) return 'holds non-ASCII characters (possible look-alikes)';
    return 'holds a separator, wildcard or other character outside [A-Za-z0-9_.-]';
  }
  return `is a ${Array.isArray(v) ? 'list' : v === null ? 'null' : typeof v}, not a string or whole number`;
}

const cache = new WeakMap<object, CompiledTemplate[]>();

/** The compiled templates of a manifest, compiled once per manifest object. */
export function templatesOf(manifest: {
  id: string;
  scopeTemplates?: string[] | undefined;
  inputSchema: JsonSchema;
}): CompiledTemplate[] {
  if (!manifest.scopeTemplates?.length) return [];
  let c = cache.get(manifest);
  if (!c) {
    c = checkScopeTemplates(manifest.scopeTemplates, manifest.inputSchema, manifest.id);
    cache.set(manifest, c);
  }
  return c;
}
