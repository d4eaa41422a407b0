import { parse, type Node, type Program } from 'acorn';

/**
 * Static checks of a JS tool's entry, made without running it (the lock is
 * written on an operator's machine; guest code must not execute there): it
 * parses as an ES module, imports nothing (static, re-export or dynamic
 * `import()`), and default-exports a function. Returns each problem as a
 * sentence naming the file; empty means the entry looks runnable.
 *
 * Acorn rather than V8: the host process does not load isolated-vm, and a
 * parse is enough to answer all three questions.
 */
export function checkJsEntry(source: string, file: string): string[] {
  let program: Program;
  try {
    program = parse(source, { ecmaVersion: 'latest', sourceType: 'module', locations: true });
  } catch (err) {
    return [`${file}: syntax error: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  for (const node of program.body) {
    if (node.type === 'ImportDeclaration')
      problems.push(
        `${file}: line ${line(node)}: imports "${String(node.source.value)}"; tools are single modules and may not import anything (bundle dependencies into one file).`,
      );
    if (
      (node.type === 'ExportNamedDeclaration' || node.type === 'ExportAllDeclaration') &&
      node.source
    )
      problems.push(
        `${file}: line ${line(node)}: re-exports from "${String(node.source.value)}"; tools may not import anything.`,
      );
  }
  for (const node of dynamicImports(program))
    problems.push(`${file}: line ${line(node)}: dynamic import(); tools may not import anything.`);
  const shape = defaultExportProblem(program);
  if (shape) problems.push(`${file}: ${shape}`);
  return problems;
}

function line(node: Node): number {
  return node.loc?.start.line ?? 0;
}

function* dynamicImports(node: unknown): Generator<Node> {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const child of node) yield* dynamicImports(child);
    return;
  }
  const n = node as Node & Record<string, unknown>;
  if (n.type === 'ImportExpression') yield n;
  for (const [key, value] of Object.entries(n)) {
    if (key !== 'loc' && value && typeof value === 'object') yield* dynamicImports(value);
  }
}

const FUNCTION_TYPES = new Set([
  'FunctionDeclaration',
  'FunctionExpression',
  'ArrowFunctionExpression',
]);
/** Expressions that are certainly not callable as `run(input, ctx)`. */
const NOT_FUNCTION_TYPES = new Set([
  'Literal',
  'ObjectExpression',
  'ArrayExpression',
  'TemplateLiteral',
  'ClassDeclaration',
  'ClassExpression',
]);

/** The top-level binding each name holds, as far as a parse can tell. */
function topLevelBindings(program: Program): Map<string, Node | undefined> {
  const out = new Map<string, Node | undefined>();
  for (const node of program.body) {
    const decl = node.type === 'ExportNamedDeclaration' ? node.declaration : node;
    if (!decl) continue;
    if (decl.type === 'FunctionDeclaration' || decl.type === 'ClassDeclaration') {
      if (decl.id) out.set(decl.id.name, decl);
    } else if (decl.type === 'VariableDeclaration') {
      for (const d of decl.declarations)
        if (d.id.type === 'Identifier') out.set(d.id.name, d.init ?? undefined);
    }
  }
  return out;
}

/** Undefined when the default export is (or may be) a function; else what is wrong. */
function defaultExportProblem(program: Program): string | undefined {
  const bindings = topLevelBindings(program);
  let target: Node | undefined;
  let found = false;
  for (const node of program.body) {
    if (node.type === 'ExportDefaultDeclaration') {
      found = true;
      target = node.declaration;
    } else if (node.type === 'ExportNamedDeclaration' && !node.source) {
      for (const s of node.specifiers) {
        const exported = s.exported.type === 'Identifier' ? s.exported.name : s.exported.value;
        if (exported === 'default') {
          found = true;
          target = s.local;
        }
      }
    }
  }
  if (!found)
    return 'has no default export; write `export default function run(input, ctx) { ... }`.';
  // Follow `export default name` / `export { name as default }` through plain aliases.
  for (let hops = 0; hops < 8 && target?.type === 'Identifier'; hops++) {
    const name = (target as Node & { name: string }).name;
    if (!bindings.has(name)) return undefined; // not a top-level binding we can see: leave it to the runner
    target = bindings.get(name);
  }
  if (!target) return 'the default export is undefined, not a function run(input, ctx).';
  if (FUNCTION_TYPES.has(target.type)) return undefined;
  if (NOT_FUNCTION_TYPES.has(target.type))
    return `the default export is ${target.type.replace(/(Expression|Declaration)$/, '').toLowerCase()}, not a function run(input, ctx).`;
  return undefined;
}
