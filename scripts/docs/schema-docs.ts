import { z } from 'zod';
import { configSchema } from '../../src/config/schema.ts';
import { manifestSchema } from '../../src/registry/manifest.ts';
import { fieldRows, renderTable, type FieldRow } from './schema-table.ts';

const toJson = (s: z.ZodType) =>
  z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

/** docs/configuration.md, rendered from the zod config schema (src/config/schema.ts). */
export function configurationDoc(): string {
  const rows = fieldRows(toJson(configSchema));
  return [
    '# Configuration reference (`toolcage.config.yaml`)',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:gen`; test/docs/generated-docs.test.ts fails when it is stale. Do not edit by hand. -->',
    '',
    'The file is parsed once, strictly: an unknown key is an error (a typo must not silently',
    'drop a limit), and so is a wrong type or a value out of range; the error names the key.',
    "Relative paths resolve from the config file's folder. Anything that weakens a guarantee",
    'is named `insecure…` or `unsafe…` and is off unless the file says so. `toolcage init`',
    'writes a working file; every key below has the default shown unless it is required.',
    '',
    'A key shown as `a.b` is `b` inside the mapping `a`; `a[].b` is `b` in each item of the',
    'list `a`. Where a key takes one of several shapes, the fields of each shape are listed',
    'under the same key.',
    '',
    renderTable(rows),
  ].join('\n');
}

const MANIFEST_START = '<!-- generated:manifest-fields start -->';
const MANIFEST_END = '<!-- generated:manifest-fields end -->';

/** The field tables of docs/manifest.md (between its markers), from the zod manifest schema. */
export function manifestFieldTables(): string {
  const union = toJson(manifestSchema).oneOf as Record<string, unknown>[];
  const [js, docker] = union.map((v) => fieldRows(v));
  const key = (r: FieldRow) => JSON.stringify(r);
  const dockerKeys = new Set(docker!.map(key));
  const common = js!.filter((r) => dockerKeys.has(key(r)));
  const commonKeys = new Set(common.map(key));
  return [
    MANIFEST_START,
    '',
    '### Fields of every tool',
    '',
    renderTable(common.filter((r) => r.path !== 'runtime')),
    '### `runtime: js`',
    '',
    renderTable(js!.filter((r) => !commonKeys.has(key(r)))),
    '### `runtime: docker`',
    '',
    renderTable(docker!.filter((r) => !commonKeys.has(key(r)))),
    MANIFEST_END,
  ].join('\n');
}

/** Replaces the generated region of docs/manifest.md with the current tables. */
export function withManifestTables(doc: string): string {
  const start = doc.indexOf(MANIFEST_START);
  const end = doc.indexOf(MANIFEST_END);
  if (start < 0 || end < start) throw new Error('docs/manifest.md has lost its generated markers');
  return `${doc.slice(0, start)}${manifestFieldTables()}${doc.slice(end + MANIFEST_END.length)}`;
}
