// Layering (STYLE.md "The shape of the project"): the folders of src/ form a ranked DAG. A folder
// imports only folders of a lower rank: capabilities import ports, errors and small utilities and
// the capabilities below them, never a sibling or anything above; the adapters (http, mcp) translate
// protocols; the composition root (runtime) builds and wires everything; the CLI and the package
// entry points sit on top. No import cycle, of folders or of files.
// Host code never imports guest code under sandboxes/. The README's Architecture section lists the ranks.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  cycles,
  fileGraph,
  folderGraph,
  folderOf,
  layerViolations,
  sourceImports,
  type Import,
} from './import-graph.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Lower imports nothing above it; equal ranks stay independent of each other. */
export const RANKS: Record<string, number> = {
  errors: 0,
  ports: 1, // types only: the interfaces between capabilities
  util: 1, // canonical JSON and hashes, strict YAML
  validation: 2,
  audit: 2,
  claims: 2,
  governors: 2,
  identity: 3,
  egress: 3,
  registry: 3,
  metrics: 3,
  telemetry: 3,
  policy: 2, // scope templates and Cedar conditions over validated arguments
  sandbox: 4,
  broker: 4,
  credentials: 4,
  config: 5,
  executor: 5,
  state: 5,
  http: 6, // adapters: translate a protocol into execute() and back
  mcp: 6,
  console: 6, // adapter: the operator console's server-rendered pages over the approval service
  runtime: 7, // composition root: the only place that builds and wires capabilities and services
  cli: 8,
  '(root)': 9, // src/index.ts, src/entry-http.ts, src/entry-mcp.ts: the package entry points
};

const { files, imports } = sourceImports(ROOT);

it('finds the source tree and its imports (the test would be vacuous otherwise)', () => {
  expect(files.length).toBeGreaterThan(30);
  expect(imports.some((i) => i.to === 'src/executor/executor.ts')).toBe(true);
  expect(imports.some((i) => i.dynamic && i.to.startsWith('src/'))).toBe(true);
  expect(imports.some((i) => i.typeOnly && i.to.startsWith('src/ports/'))).toBe(true);
  // multi-line import lists are seen too
  expect(imports.some((i) => i.from === 'src/index.ts' && i.to === 'src/ports/gates.ts')).toBe(
    true,
  );
});

it('every folder of src/ has a rank, and every rank names a folder that exists', () => {
  const folders = new Set(files.map(folderOf));
  expect([...folders].sort()).toEqual(Object.keys(RANKS).sort());
});

it('imports between folders only go down the ranking (no upward or sideways import)', () => {
  expect(layerViolations(imports, RANKS)).toEqual([]);
});

it('no folder import cycle', () => {
  expect(cycles(folderGraph(imports))).toEqual([]);
});

it('no file import cycle (type-only and dynamic imports included)', () => {
  expect(cycles(fileGraph(imports))).toEqual([]);
});

it('src/ports holds types only: nothing in it exists at runtime', async () => {
  const { readFileSync } = await import('node:fs');
  const ports = files.filter((f) => f.startsWith('src/ports/'));
  expect(ports.length).toBeGreaterThan(5);
  for (const f of ports) {
    const text = readFileSync(`${ROOT}/${f}`, 'utf8');
    expect(text, f).not.toMatch(/^\s*export\s+(const|let|var|function|class|enum|default)\b/m);
    expect(
      imports.filter((i) => i.from === f && !i.typeOnly && !/^\s*$/.test(i.spec)),
      f,
    ).toEqual([]);
  }
});

it('nothing under src/ imports from sandboxes/ (guest code)', () => {
  const bad = imports
    .filter((i) => /^sandboxes\//.test(i.to) || /(^|\/)sandboxes\//.test(i.spec))
    .map((i) => `${i.from} -> ${i.spec}`);
  expect(bad).toEqual([]);
});

it('every relative import in src/ names its .ts file explicitly (ESM, no extension guessing)', () => {
  const bad = imports
    .filter((i) => i.spec.startsWith('.') && !/\.(ts|js|json)$/.test(i.spec))
    .map((i) => `${i.from} -> ${i.spec}`);
  expect(bad).toEqual([]);
});

describe('self-check: the checks fail on a graph that breaks the rules', () => {
  const edge = (from: string, to: string): Import => ({
    from,
    to,
    spec: to,
    typeOnly: false,
    dynamic: false,
  });
  const ranks = { errors: 0, claims: 1, executor: 2 };

  it('an upward, a sideways and an unranked import are each reported', () => {
    const bad = layerViolations(
      [
        edge('src/executor/a.ts', 'src/claims/b.ts'), // down: fine
        edge('src/claims/b.ts', 'src/executor/a.ts'), // up
        edge('src/claims/b.ts', 'src/errors/e.ts'), // down: fine
        edge('src/executor/a.ts', 'src/executor/c.ts'), // same folder: fine
        edge('src/executor/a.ts', 'src/newcomer/x.ts'), // unranked
      ],
      ranks,
    );
    expect(bad).toHaveLength(2);
    expect(bad[0]).toMatch(/claims rank 1 may not import executor rank 2/);
    expect(bad[1]).toMatch(/newcomer has no rank/);
    expect(layerViolations([edge('src/a/x.ts', 'src/b/y.ts')], { a: 1, b: 1 })).toHaveLength(1);
  });

  it('a folder cycle and a file cycle (through a dynamic import) are each found', () => {
    const g = [
      edge('src/claims/b.ts', 'src/executor/a.ts'),
      edge('src/executor/a.ts', 'src/claims/b.ts'),
    ];
    expect(cycles(folderGraph(g))).toEqual([['claims', 'executor']]);
    const f = [
      { ...edge('src/runtime/state.ts', 'src/runtime/redis-state.ts'), dynamic: true },
      edge('src/runtime/redis-state.ts', 'src/runtime/state.ts'),
      edge('src/runtime/state.ts', 'src/errors/e.ts'),
    ];
    expect(cycles(fileGraph(f))).toEqual([['src/runtime/redis-state.ts', 'src/runtime/state.ts']]);
    expect(cycles(folderGraph(f))).toEqual([]);
  });
});
