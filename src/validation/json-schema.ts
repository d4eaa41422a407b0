import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { JsonValidator } from '../ports/tool.ts';

export type { JsonValidator };

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats: FormatsPlugin =
  (addFormatsModule as unknown as { default?: FormatsPlugin }).default ??
  (addFormatsModule as unknown as FormatsPlugin);

/**
 * Ajv (draft 2020-12, the dialect MCP tool schemas use) rather than zod's
 * JSON Schema import: Ajv implements the whole vocabulary manifests use
 * (patternProperties, additionalProperties, formats, $defs/$ref, unevaluated*)
 * and compiles each schema once at registry load into a fast validator.
 * `strict` makes an unknown keyword (a typo like `maxLenght`) a load error
 * instead of a silently absent constraint.
 */
const ajv = new Ajv2020({
  strict: true,
  allErrors: true,
  allowUnionTypes: true,
  validateFormats: true,
});
addFormats(ajv);

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? [])
    .slice(0, 20)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`.trim());
}

/** Compiles a JSON Schema once. Throws `registry_invalid` when the schema itself is not valid. */
export function compileSchema(schema: Record<string, unknown>, where: string): JsonValidator {
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (cause) {
    throw new ToolcageError('registry_invalid', {
      message: `${where}: not a valid JSON Schema: ${(cause as Error).message}`,
      cause,
    });
  }
  return (value) =>
    validate(value) ? { ok: true } : { ok: false, errors: describe(validate.errors) };
}
