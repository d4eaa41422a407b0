/**
 * What `toolcage tool new` writes: a working tool a person edits from, in
 * each runtime, with example arguments and a test that calls it through
 * `toolcage dev call`. Kept small: every line is one a tool author needs.
 */
export interface ToolFiles {
  /** Files in the tool's folder under the registry folder. */
  tool: Record<string, string>;
  /** A Docker tool's image recipe, under `images/<name>/` beside the config. */
  recipe?: { name: string; files: Record<string, string> };
}

const inputSchema = {
  type: 'object',
  properties: { text: { type: 'string', maxLength: 10000 } },
  required: ['text'],
  additionalProperties: false,
};

function manifestYaml(fields: Record<string, unknown>): string {
  // JSON values are YAML flow values: one readable line each, no YAML library needed.
  return `${Object.entries(fields)
    .map(
      ([k, v]) =>
        `${k}: ${typeof v === 'string' && /^[A-Za-z0-9 ._/:-]+$/.test(v) && !/^\d/.test(v) ? v : JSON.stringify(v)}`,
    )
    .join('\n')}\n`;
}

function testFile(id: string, expected: unknown): string {
  return `// Calls ${id} through \`toolcage dev call\` (a dev workspace: mint and run in one step).
// Run from the workspace folder after \`toolcage registry lock\`: node --test ${'<this file>'}
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

const args = fileURLToPath(new URL('./example-args.json', import.meta.url));

test('${id} answers the example arguments', () => {
  const out = execFileSync('toolcage', ['dev', 'call', '${id}', '--args', args], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out).result, ${JSON.stringify(expected)});
});
`;
}

export function jsToolFiles(id: string): ToolFiles {
  const expected = { characters: 11, upper: 'HELLO WORLD' };
  return {
    tool: {
      'manifest.yaml': manifestYaml({
        id,
        version: '0.1.0',
        description: 'Counts the characters of a text and upper-cases it (a template: edit me).',
        runtime: 'js',
        entry: 'tool.js',
        inputSchema,
        outputSchema: {
          type: 'object',
          properties: { characters: { type: 'integer' }, upper: { type: 'string' } },
          required: ['characters', 'upper'],
          additionalProperties: false,
        },
        limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 65536 },
        network: 'none',
        scopes: [],
        risk: 'low',
      }),
      'tool.js': `// ${id}: one ES module, no imports (bundle dependencies into this file with esbuild).
// The runner calls run(input, ctx) with the validated input; what it returns (or resolves to)
// is validated against outputSchema. A thrown error fails the call as sandbox_failed.
export default function run(input, ctx) {
  const text = input.text;
  return { characters: [...text].length, upper: text.toUpperCase() };
}
`,
      'example-args.json': `${JSON.stringify({ text: 'hello world' })}\n`,
      'tool.test.mjs': testFile(id, expected),
    },
  };
}

/** A Docker image name for a tool id: lowercase path components Docker accepts. */
export function localImageFor(id: string): string {
  return `toolcage-local/${id.replace(/_/g, '-')}`;
}

export function dockerToolFiles(id: string): ToolFiles {
  const image = localImageFor(id);
  const name = id.replace(/[._]/g, '-');
  return {
    tool: {
      'manifest.yaml': manifestYaml({
        id,
        version: '0.1.0',
        description: 'Counts the bytes of its input (a template: edit me and images/ recipe).',
        runtime: 'docker',
        image,
        command: ['/opt/tool/bin/run.sh'],
        inputSchema,
        outputSchema: {
          type: 'object',
          properties: { inputBytes: { type: 'integer' } },
          required: ['inputBytes'],
          additionalProperties: false,
        },
        limits: { timeoutMs: 5000, memoryMb: 32, maxOutputBytes: 4096, cpus: 1, pids: 16 },
        network: 'none',
        scopes: [],
        risk: 'low',
      }),
      'example-args.json': `${JSON.stringify({ text: 'hello world' })}\n`,
      'tool.test.mjs': testFile(id, { inputBytes: 23 }),
    },
    recipe: {
      name,
      files: {
        'recipe.json': `${JSON.stringify(
          {
            image,
            description: `Image of ${id} (toolcage tool new).`,
            binaries: [{ package: 'busybox-static', source: '/bin/busybox', path: '/bin/busybox' }],
            applets: { binary: '/bin/busybox', names: ['sh', 'cat', 'wc'] },
            files: [{ source: 'bin/run.sh', path: '/opt/tool/bin/run.sh', mode: '0555' }],
            user: { name: 'tool', uid: 65532, gid: 65532 },
          },
          null,
          2,
        )}\n`,
        'bin/run.sh': `#!/bin/sh
# ${id}: the input JSON arrives on stdin (one line); print one JSON value on stdout, exit 0.
# Any other exit, or output that is not JSON, fails the call (sandbox_failed); stderr is
# kept for the audit diagnostic only.
set -eu
bytes=$(/bin/wc -c)
printf '{"inputBytes":%d}\\n' "$bytes"
`,
      },
    },
  };
}
