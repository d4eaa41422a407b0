/**
 * The runner's Ajv options, shared by the validator (json-schema.ts) and the
 * script that compiles the meta-schema validator ahead of time
 * (scripts/gen-meta-validator.ts), so the two cannot disagree.
 */
export const AJV_OPTIONS = {
  strict: true,
  allErrors: true,
  allowUnionTypes: true,
  validateFormats: true,
} as const;

/** The dialect manifests' schemas are written in (MCP tool schemas use draft 2020-12). */
export const META_SCHEMA_ID = 'https://json-schema.org/draft/2020-12/schema';
