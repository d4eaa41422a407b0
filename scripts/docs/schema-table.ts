/**
 * Renders a JSON Schema (as zod 4's `z.toJSONSchema` writes it) into a
 * Markdown table of dotted key paths: type, required or default, and limits.
 * Used to generate the reference pages from the very schemas that parse the
 * files, so the pages cannot drift from the parser.
 */
type Schema = Record<string, unknown>;

export interface FieldRow {
  path: string;
  type: string;
  required: boolean;
  default?: unknown;
  limits: string[];
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function typeOf(s: Schema): string {
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
  if ('const' in s) return JSON.stringify(s.const);
  const variants = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (variants) return variants.map(typeOf).join(' | ');
  if (s.type === 'array') {
    const item = typeOf((s.items as Schema | undefined) ?? {});
    return item.includes(' | ') ? `(${item})[]` : `${item}[]`;
  }
  if (s.type === 'object' && s.properties) return 'object';
  if (s.type === 'object') return 'map';
  if (typeof s.type === 'string') return s.type;
  return 'any';
}

function limitsOf(s: Schema): string[] {
  const out: string[] = [];
  if (typeof s.minimum === 'number') out.push(`≥ ${s.minimum}`);
  if (typeof s.exclusiveMinimum === 'number') out.push(`> ${s.exclusiveMinimum}`);
  if (typeof s.maximum === 'number' && s.maximum !== MAX_SAFE) out.push(`≤ ${s.maximum}`);
  if (typeof s.minLength === 'number' && s.minLength > 0) out.push(`length ≥ ${s.minLength}`);
  if (typeof s.maxLength === 'number') out.push(`length ≤ ${s.maxLength}`);
  if (typeof s.minItems === 'number') out.push(`items ≥ ${s.minItems}`);
  if (typeof s.maxItems === 'number') out.push(`items ≤ ${s.maxItems}`);
  if (typeof s.pattern === 'string') out.push(`pattern \`${s.pattern}\``);
  if (typeof s.format === 'string') out.push(`format ${s.format}`);
  const items = s.items as Schema | undefined;
  if (items && items.type !== 'object') out.push(...limitsOf(items).map((l) => `each ${l}`));
  return out;
}

/** Every field, depth first, objects expanded (an object inside an array as `path[].key`). */
export function fieldRows(schema: Schema, prefix = '', required = true): FieldRow[] {
  const rows: FieldRow[] = [];
  const props = schema.properties as Record<string, Schema> | undefined;
  if (!props) return rows;
  const req = new Set((schema.required as string[] | undefined) ?? []);
  for (const [key, child] of Object.entries(props)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const isRequired = required && req.has(key) && !('default' in child);
    const row: FieldRow = {
      path,
      type: typeOf(child),
      required: isRequired,
      limits: limitsOf(child),
    };
    if ('default' in child) row.default = child.default;
    const expandable = child.properties !== undefined;
    if (!(expandable && JSON.stringify(child.default) === '{}')) rows.push(row);
    if (expandable) rows.push(...fieldRows(child, path, true));
    const items = child.items as Schema | undefined;
    if (child.type === 'array' && items?.properties)
      rows.push(...fieldRows(items, `${path}[]`, true));
    for (const variant of ((child.anyOf ?? child.oneOf) as Schema[] | undefined) ?? [])
      if (variant.properties) rows.push(...fieldRows(variant, `${path}`, false));
  }
  return rows;
}

/** The rows as a Markdown table. */
export function renderTable(rows: FieldRow[]): string {
  const lines = ['| Key | Type | Required / default | Limits |', '| --- | --- | --- | --- |'];
  for (const r of rows) {
    const need =
      r.default !== undefined
        ? `default \`${JSON.stringify(r.default)}\``
        : r.required
          ? 'required'
          : 'optional';
    const cells = [`\`${r.path}\``, r.type, need, r.limits.join(', ')];
    // A pipe inside a cell (a union, a regex alternation) must be escaped in a GFM table.
    lines.push(`| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
