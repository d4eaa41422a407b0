import { ToolcageError } from '../errors/toolcage-error.ts';
import { renderScopes, templatesOf } from '../policy/scope-template.ts';
import type { LoadedTool } from '../registry/registry.ts';

/**
 * The broker's half of scope templates: validate the arguments it is asked
 * to bind against the tool's input schema, then render the templates from
 * them. Tools without templates are untouched ([]), as before.
 */
export function renderFor(tool: LoadedTool, args: unknown): string[] {
  const templates = templatesOf(tool.manifest);
  if (templates.length === 0) return [];
  validateFor(tool, args);
  return renderScopes(tool.manifest.id, templates, args);
}

/** Refuses arguments the tool's input schema rejects (`input_invalid`, naming the tool). */
export function validateFor(tool: LoadedTool, args: unknown): void {
  const v = tool.validateInput(args);
  if (!v.ok)
    throw new ToolcageError('input_invalid', {
      message: `The arguments do not match ${tool.manifest.id}'s input schema: ${v.errors.join('; ')}. No claim was minted.`,
      details: { errors: v.errors },
    });
}
