import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { addTool, makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { addCommentTool } from '../helpers/comment-tool.ts';
import { loadRegistry } from '../../src/runtime/runner.ts';
import { compileTemplate } from '../../src/policy/scope-template.ts';

let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const schema = {
  type: 'object',
  properties: {
    repo: { type: 'string' },
    pull: { type: 'integer' },
    note: { type: 'string' },
    draft: { type: 'boolean' },
    nested: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
  },
  required: ['repo', 'pull', 'draft', 'nested'],
};

it.each([
  [
    'repo:{/nope}',
    /placeholder \{\/nope\} must name a required string or integer property of inputSchema; the input schema has no property "nope"/,
  ],
  ['repo:{/note}', /\{\/note\}.*property "note" is not required/],
  ['draft:{/draft}', /\{\/draft\}.*points at a "boolean" value/],
  ['repo:{repo}', /placeholder \{repo\} is not a JSON Pointer/],
  ['repo:*/{/repo}', /outside \[A-Za-z0-9_.:-\/\] or a "\*"/],
  ['repo:all', /has no placeholder/],
  ['repo:{/repo', /placeholder|unbalanced|JSON Pointer/],
])('registry lock refuses the template %s', async (template, message) => {
  ws = await makeWorkspace();
  addTool(ws, {
    id: 'test.templated',
    source: 'export default function run() { return {}; }',
    inputSchema: schema,
    scopeTemplates: [template],
  });
  await expect(ws.relock()).rejects.toMatchObject({
    code: 'registry_invalid',
    message: expect.stringMatching(message),
  });
});

it('accepts a nested required pointer, and registry load refuses a template changed after lock', async () => {
  ws = await makeWorkspace();
  addTool(ws, {
    id: 'test.templated',
    source: 'export default function run() { return {}; }',
    inputSchema: schema,
    scopeTemplates: ['item:{/nested/id}/{/pull}'],
  });
  await ws.relock();
  expect(compileTemplate('item:{/nested/id}/{/pull}').pointers).toEqual([
    ['nested', 'id'],
    ['pull'],
  ]);
  addCommentTool(ws);
  await ws.relock();
  const file = join(ws.manifests, 'github.comment_pr', 'manifest.yaml');
  const m = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8')) as Record<
    string,
    unknown
  >;
  writeFileSync(file, JSON.stringify({ ...m, scopeTemplates: ['repo:{/body}'] }));
  await expect(loadRegistry(ws.reload())).rejects.toMatchObject({
    code: 'registry_invalid',
    message: expect.stringMatching(/\{\/body\}.*not required/),
  });
});
