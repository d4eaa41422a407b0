import { cliDoc } from './cli-doc.ts';
import { configurationDoc, withManifestTables } from './schema-docs.ts';
import { openApiDocument } from '../../src/http/openapi.ts';
import { TOOLCAGE_VERSION } from '../../src/util/version.ts';

/** Each generated reference file and how to render it from its current text. */
export const generatedDocs: Record<string, (current: string) => string | Promise<string>> = {
  'docs/cli.md': () => cliDoc(),
  'docs/configuration.md': () => configurationDoc(),
  'docs/manifest.md': (current) => withManifestTables(current),
  'docs/openapi.json': () => `${JSON.stringify(openApiDocument(TOOLCAGE_VERSION), null, 2)}\n`,
};
