// Core messages carry no transport words (issue 10, item 5): the capabilities, the executor and the
// composition root raise errors with a transport-neutral message and a structured hint
// (`ToolcageError#hint`); each adapter (CLI, HTTP, MCP, console) renders the hint in its own words.
// So no string literal in a core folder names a CLI command (`toolcage registry lock`) or an HTTP
// route (`POST /v1/approvals`). Comments may: they are for the people who read the code.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.ts';
import { folderOf, sourceImports } from './import-graph.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The adapters, and the package entry points above them: the only folders that speak a transport. */
const ADAPTERS = new Set(['cli', 'http', 'mcp', 'console', '(root)']);

/**
 * Core files allowed to name a transport while a change moves their words into hints: none today.
 * The test asserts this list exactly, so an entry is removed as soon as its file is clean.
 */
const PENDING: Record<string, number> = {};

/** Every string a file's code builds: string literals and each piece of a template literal. */
function stringsOf(root: string, file: string): { text: string; line: number }[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(join(root, file), 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const out: { text: string; line: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    )
      out.push({
        text: node.text,
        line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1,
      });
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** `toolcage <command>` for each top-level CLI command (a log prefix such as `toolcage mcp:` is not one). */
async function commandPattern(): Promise<RegExp> {
  const names = (await buildProgram()).commands.map((c) => c.name());
  return new RegExp(`\\btoolcage (${names.join('|')})\\b(?!:)`);
}

/** A route of toolcage's HTTP API: `/v1/...` standing alone (not inside another service's URL), or a method and a path. */
const ROUTE = /(^|[\s(`'"])\/v1\/|\b(GET|POST|PUT|PATCH|DELETE) \/[a-z{]/;

async function offenders(files: string[], root = ROOT): Promise<string[]> {
  const command = await commandPattern();
  return files.flatMap((f) =>
    stringsOf(root, f)
      .filter((s) => command.test(s.text) || ROUTE.test(s.text))
      .map((s) => `${f}:${s.line}: ${s.text.slice(0, 100)}`),
  );
}

const core = sourceImports(ROOT).files.filter((f) => !ADAPTERS.has(folderOf(f)));

it('finds the core files and the CLI commands (the test would be vacuous otherwise)', async () => {
  expect(core.length).toBeGreaterThan(100);
  expect(core).toContain('src/registry/registry.ts');
  expect(core).toContain('src/runtime/broker.ts');
  expect(core.some((f) => f.startsWith('src/cli/') || f.startsWith('src/http/'))).toBe(false);
  const command = await commandPattern();
  for (const c of ['registry', 'keys', 'broker', 'approvals', 'sessions', 'policy', 'init'])
    expect(command.test(`run \`toolcage ${c} x\``), c).toBe(true);
});

it('no string literal in a core folder names a CLI command or an HTTP route (beyond the pending list)', async () => {
  const found = await offenders(core);
  const perFile: Record<string, number> = {};
  for (const o of found) {
    const file = o.slice(0, o.indexOf(':'));
    perFile[file] = (perFile[file] ?? 0) + 1;
  }
  expect(
    found.filter((o) => !(o.slice(0, o.indexOf(':')) in PENDING)),
    'core messages name a transport: raise a ToolcageError with a hint instead',
  ).toEqual([]);
  expect(perFile).toEqual(PENDING);
});

describe('self-check: the scan sees what it must and nothing else', () => {
  it('flags commands and routes in strings and templates, not in comments or other URLs', async () => {
    const command = await commandPattern();
    const flagged = (s: string) => command.test(s) || ROUTE.test(s);
    expect(flagged('Run `toolcage registry lock`.')).toBe(true);
    expect(flagged('or POST /v1/sessions/x/resume.')).toBe(true);
    expect(flagged('List them with GET /v1/tools.')).toBe(true);
    expect(flagged('see `/v1/audit`')).toBe(true);
    expect(flagged('http://127.0.0.1:4318/v1/traces')).toBe(false);
    expect(flagged('toolcage mcp: listening')).toBe(false);
    expect(flagged('No registry at x.')).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), 'toolcage-words-'));
    try {
      writeFileSync(
        join(dir, 'core.ts'),
        [
          '// Run `toolcage registry lock` (a comment may name it)',
          '/** POST /v1/claims, in a doc comment */',
          "const a = 'Run `toolcage registry lock`.';",
          'const b = (id: string) => `Resume ${id}: POST /v1/sessions/${id}/resume.`;',
          'const c = `${a} then \\`toolcage keys generate\\`.`;',
          "const d = 'http://127.0.0.1:4318/v1/traces';",
          'export { a, b, c, d };',
        ].join('\n'),
      );
      expect(await offenders(['core.ts'], dir)).toEqual([
        'core.ts:3: Run `toolcage registry lock`.',
        'core.ts:4: : POST /v1/sessions/',
        'core.ts:5:  then `toolcage keys generate`.',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
