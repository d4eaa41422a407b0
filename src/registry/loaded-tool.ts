/** A verified, pinned tool as the rest of toolcage sees it: the sandbox's view, compiled validators, the summary clients list. */
import type { SandboxTool } from '../ports/sandbox.ts';
import type { LoadedTool } from '../ports/tool.ts';
import { compileSchema } from '../validation/json-schema.ts';
import type { ScannedTool } from './scan.ts';

/** A copy without the keys whose value is undefined (optional limits the manifest leaves out). */
function withoutUndefined<T extends object>(
  value: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

export function toLoadedTool(s: ScannedTool & { artifactSha256: string }): LoadedTool {
  const m = s.manifest;
  const sandbox: SandboxTool = {
    id: m.id,
    version: m.version,
    runtime: m.runtime,
    limits: withoutUndefined(m.limits),
    ...(m.runtime === 'js'
      ? { source: s.source!, sourceHash: s.artifactSha256 }
      : {
          image: m.image,
          imageId: s.artifactSha256,
          command: [...m.command],
          ...(m.isolation ? { isolation: m.isolation } : {}),
        }),
  };
  return {
    manifest: m,
    manifestSha256: s.manifestSha256,
    artifactSha256: s.artifactSha256,
    validateInput: compileSchema(m.inputSchema, `${s.manifestPath}: inputSchema`),
    validateOutput: compileSchema(m.outputSchema, `${s.manifestPath}: outputSchema`),
    sandbox,
    summary: {
      id: m.id,
      version: m.version,
      description: m.description,
      inputSchema: m.inputSchema,
      outputSchema: m.outputSchema,
      runtime: m.runtime,
      risk: m.risk,
      scopes: [...m.scopes],
      hints: {
        ...(m.hints?.title ? { title: m.hints.title } : {}),
        readOnly: m.hints?.readOnly ?? m.risk === 'low',
        destructive: m.hints?.destructive ?? m.risk === 'high',
        idempotent: m.hints?.idempotent ?? m.risk === 'low',
      },
      openWorld: m.network !== 'none',
    },
  };
}
