import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { JsonValidator } from '../ports/tool.ts';
import { AJV_OPTIONS, META_SCHEMA_ID } from './ajv-options.ts';
import metaSchemaValidator from './json-schema-meta.generated.ts';

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
 *
 * Each schema is checked against the draft 2020-12 meta-schema by a validator
 * compiled ahead of time (json-schema-meta.generated.ts, same options), not
 * by Ajv compiling the meta-schema at the first load: that compile was a fifth
 * of `toolcage serve`'s start-up CPU. A schema naming another dialect in
 * `$schema` is checked by Ajv itself, as before.
 */
const ajv = new Ajv2020({ ...AJV_OPTIONS, validateSchema: false });
addFormats(ajv);

const validateMetaSchema = metaSchemaValidator as unknown as ValidateFunction;

/** Throws as Ajv's own check does (`schema is invalid: ...`) when the schema breaks its meta-schema. */
function checkAgainstMetaSchema(schema: Record<string, unknown>): void {
  if (schema.$schema !== undefined && schema.$schema !== META_SCHEMA_ID) {
    // Throws when invalid (or the dialect is unknown); synchronous, as no meta-schema here is $async.
    void ajv.validateSchema(schema, true);
    return;
  }
  if (!validateMetaSchema(schema))
    throw new Error(`schema is invalid: ${ajv.errorsText(validateMetaSchema.errors)}`);
}

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? [])
    .slice(0, 20)
    .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`.trim());
}

/** Compiles a JSON Schema once. Throws `registry_invalid` when the schema itself is not valid. */
export function compileSchema(schema: Record<string, unknown>, where: string): JsonValidator {
  let validate: ValidateFunction;
  try {
    checkAgainstMetaSchema(schema);
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
