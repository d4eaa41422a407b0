import type { ClaimPayload } from '../claims/claim.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { renderScopes, templatesOf } from '../policy/scope-template.ts';
import type { LoadedTool } from '../registry/registry.ts';

/**
 * The runner's half of scope templates: render the manifest's templates
 * again from the arguments about to run and refuse when the claim does not
 * carry every rendered scope. Runs before the args-hash check so that a
 * claim for `repo:a` presented with `repo:b` is refused by name, and so that
 * the scope binding holds even if the hash binding were ever relaxed.
 * Returns the rendered scopes (for the audit line); [] without templates.
 */
export function checkRenderedScopes(
  tool: LoadedTool,
  claim: ClaimPayload,
  args: unknown,
): string[] {
  const templates = templatesOf(tool.manifest);
  if (templates.length === 0) return [];
  let rendered: string[];
  try {
    rendered = renderScopes(tool.manifest.id, templates, args);
  } catch (cause) {
    throw new ToolcageError('scope_insufficient', {
      message: `${(cause as Error).message} The claim's scope cannot be checked against arguments that do not render.`,
      cause,
    });
  }
  const granted = new Set(claim.scope);
  const missing = rendered.filter((s) => !granted.has(s));
  if (missing.length > 0)
    throw new ToolcageError('scope_insufficient', {
      message: `These arguments render the scope ${missing.join(', ')}, which the claim does not carry; it was minted for other arguments. Mint a claim for these arguments.`,
      details: { missing, rendered },
    });
  return rendered;
}
