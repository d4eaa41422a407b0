/** The package version, reported by `toolcage --version` and the OpenAPI document. */
export const TOOLCAGE_VERSION = '0.1.0';
