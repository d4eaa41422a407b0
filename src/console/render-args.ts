import { html, type Html } from './html.ts';
import { MASK } from '../broker/approval-view.ts';

/** Arguments as a collapsible tree (nested <details>), every leaf escaped. */
export function jsonTree(value: unknown, depth = 0): Html {
  if (depth > 20) return html`<span class="j-more">…</span>`;
  if (value === MASK) return html`<span class="j-masked" title="write-only field">${MASK}</span>`;
  if (Array.isArray(value) || (typeof value === 'object' && value !== null)) {
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value as Record<string, unknown>);
    const label = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    return html`<details class="j-node" open>
      <summary>${label}</summary>
      <ul>
        ${entries.map(
          ([k, v]) => html`<li><span class="j-key">${k}</span>: ${jsonTree(v, depth + 1)}</li>`,
        )}
      </ul>
    </details>`;
  }
  if (typeof value === 'string')
    return value.includes('\n')
      ? html`<pre class="j-str">${value}</pre>`
      : html`<span class="j-str">"${value}"</span>`;
  return html`<span class="j-lit">${String(value)}</span>`;
}

interface Edit {
  path: string;
  find: string;
  replace: string;
}

function editsOf(args: unknown): { files: Record<string, unknown>; edits: Edit[] } | undefined {
  if (typeof args !== 'object' || args === null) return undefined;
  const a = args as { files?: unknown; edits?: unknown };
  if (!Array.isArray(a.edits)) return undefined;
  const edits = a.edits.filter(
    (e): e is Edit =>
      typeof e === 'object' &&
      e !== null &&
      typeof (e as Edit).path === 'string' &&
      typeof (e as Edit).find === 'string' &&
      typeof (e as Edit).replace === 'string',
  );
  if (edits.length !== a.edits.length || edits.length === 0) return undefined;
  const files =
    typeof a.files === 'object' && a.files !== null ? (a.files as Record<string, unknown>) : {};
  return { files, edits };
}

/** 1-based line of the first occurrence of `find` in `text`, or undefined. */
function lineOf(text: string, find: string): number | undefined {
  const at = text.indexOf(find);
  return at < 0 ? undefined : text.slice(0, at).split('\n').length;
}

/**
 * Find/replace edits (`repo.apply_patch` and any tool shaped like it) as a
 * unified-style diff per edit: where in the file the text is found, the lines
 * removed and the lines added, with a line of context either side. Undefined
 * when the arguments are not edits (the JSON tree is shown instead).
 */
export function editsDiff(args: unknown): Html | undefined {
  const parsed = editsOf(args);
  if (!parsed) return undefined;
  return html`${parsed.edits.map((e, i) => {
    const file = parsed.files[e.path];
    const text = typeof file === 'string' ? file : undefined;
    const line = text === undefined || e.find === MASK ? undefined : lineOf(text, e.find);
    const lines = text?.split('\n') ?? [];
    const findLines = e.find.split('\n');
    const before = line !== undefined && line > 1 ? lines[line - 2] : undefined;
    const after = line !== undefined ? lines[line - 1 + findLines.length] : undefined;
    const where =
      text === undefined
        ? 'file not among the arguments'
        : line === undefined
          ? 'text NOT FOUND in the file: this edit will fail'
          : `line ${line}`;
    return html`<section class="diff" data-edit="${i}">
      <h4><span class="diff-path">${e.path}</span> <span class="diff-where">${where}</span></h4>
      <pre>
${before !== undefined ? html`<span class="ctx"> ${before} </span>` : ''}${findLines.map(
          (l) => html`<del class="rm">- ${l} </del>`,
        )}${e.replace.split('\n').map((l) => html`<ins class="add">+ ${l} </ins>`)}${
          after !== undefined ? html`<span class="ctx"> ${after} </span>` : ''
        }</pre>
    </section>`;
  })}`;
}
