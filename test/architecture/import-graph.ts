// The import graph of src/, and the two checks the layering test makes on it: imports that go up
// (or sideways between folders of one rank) and import cycles, of folders and of files.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface Import {
  /** Importing file, relative to the repository root (`src/executor/executor.ts`). */
  from: string;
  /** The specifier as written. */
  spec: string;
  /** The file it names, relative to the root, when it is a relative import; otherwise the package name. */
  to: string;
  typeOnly: boolean;
  dynamic: boolean;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** Static imports and re-exports (multi-line ones included), side-effect imports, and `import('...')` with a literal. */
export function importsOf(root: string, file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const rel = (p: string) => relative(root, p).split(sep).join('/');
  const target = (spec: string) => {
    if (!spec.startsWith('.')) return spec;
    const abs = resolve(dirname(file), spec);
    const hit = [abs, `${abs}.ts`, join(abs, 'index.ts')].find(
      (c) => existsSync(c) && statSync(c).isFile(),
    );
    return rel(hit ?? abs);
  };
  const out: Import[] = [];
  const add = (spec: string, typeOnly: boolean, dynamic: boolean) =>
    out.push({ from: rel(file), spec, to: target(spec), typeOnly, dynamic });
  for (const m of text.matchAll(
    /^\s*(?:import|export)\s+(type\s+)?[^'";]*?\sfrom\s+['"]([^'"]+)['"]/gm,
  ))
    add(m[2]!, Boolean(m[1]), false);
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) add(m[1]!, false, false);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) add(m[1]!, false, true);
  return out;
}

export function sourceImports(root: string, src = 'src'): { files: string[]; imports: Import[] } {
  const abs = walk(join(root, src));
  return {
    files: abs.map((f) => relative(root, f).split(sep).join('/')),
    imports: abs.flatMap((f) => importsOf(root, f)),
  };
}

/**
 * The package's entry points besides src/index.ts (package.json `exports`): they
 * re-export what the composition root builds, so they rank with src/index.ts.
 */
export const ENTRY_POINTS = new Set(['src/entry-http.ts', 'src/entry-mcp.ts']);

/** `src/executor/executor.ts` → `executor`; a file directly in src/, or an entry point → `(root)`. */
export function folderOf(file: string): string {
  if (ENTRY_POINTS.has(file)) return '(root)';
  const parts = file.split('/');
  return parts.length > 2 ? parts[1]! : '(root)';
}

/**
 * Imports between folders that do not go strictly down the ranking: upward,
 * sideways (two folders of one rank stay independent), or from or to a
 * folder the ranking does not name (a new folder must be given a rank).
 */
export function layerViolations(
  imports: readonly Pick<Import, 'from' | 'to'>[],
  ranks: Readonly<Record<string, number>>,
): string[] {
  const bad: string[] = [];
  for (const i of imports) {
    if (!i.to.startsWith('src/')) continue;
    const a = folderOf(i.from);
    const b = folderOf(i.to);
    if (a === b) continue;
    const ra = ranks[a];
    const rb = ranks[b];
    if (ra === undefined || rb === undefined)
      bad.push(`${i.from} -> ${i.to} (folder ${ra === undefined ? a : b} has no rank)`);
    else if (rb >= ra)
      bad.push(`${i.from} -> ${i.to} (${a} rank ${ra} may not import ${b} rank ${rb})`);
  }
  return bad;
}

/** Strongly connected components with more than one node, or a node importing itself (Tarjan). */
export function cycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  const next = (v: string) => edges.get(v) ?? new Set<string>();
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1 || next(v).has(v)) out.push(c.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) strong(v);
  return out;
}

/** File → files it imports (type-only and dynamic imports count: they still tie the modules). */
export function fileGraph(
  imports: readonly Pick<Import, 'from' | 'to'>[],
): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const i of imports) {
    if (!i.to.startsWith('src/')) continue;
    if (!g.has(i.from)) g.set(i.from, new Set());
    g.get(i.from)!.add(i.to);
  }
  return g;
}

/** Folder → folders it imports. */
export function folderGraph(
  imports: readonly Pick<Import, 'from' | 'to'>[],
): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const i of imports) {
    if (!i.to.startsWith('src/')) continue;
    const a = folderOf(i.from);
    const b = folderOf(i.to);
    if (!g.has(a)) g.set(a, new Set());
    if (a !== b) g.get(a)!.add(b);
  }
  return g;
}
