// Prints docs/errors.md from the catalogue: `node scripts/error-table.ts > docs/errors.md`.
// test/errors/catalogue.test.ts checks that the file and src/errors/catalogue.ts agree both ways.
import { CONTRACT_CODES, ERROR_CATALOGUE } from '../src/errors/catalogue.ts';

const contract = new Set<string>(CONTRACT_CODES);
const lines = [
  '# Error codes',
  '',
  'Every refusal is `{"error": {"code", "message", "requestId"}}` (plus `details` and',
  '`retryAfterSeconds` where useful); on the CLI the same JSON on stderr and a non-zero exit.',
  '`fault` says who can fix it: `client` (the caller) or `server` (the operator, or the tool).',
  'Codes whose origin is `contract` are the external contract, listed in its order; `extension`',
  'codes are toolcage additions.',
  '',
  'The messages below name no command and no route. Where a next step is one only a transport',
  'can name, the error carries a hint and each adapter appends it in its own words: the CLI the',
  'command to run (`toolcage sessions resume ID`), HTTP the route',
  '(`POST /v1/sessions/{id}/resume`), MCP text for the agent.',
  '',
  'This file is generated from `src/errors/catalogue.ts` (`node scripts/error-table.ts >',
  'docs/errors.md`); `test/errors/catalogue.test.ts` fails when the two disagree.',
  '',
  '| code | HTTP | fault | origin | message |',
  '|---|---|---|---|---|',
];
const ordered = [
  ...CONTRACT_CODES,
  ...Object.keys(ERROR_CATALOGUE).filter((c) => !contract.has(c)),
] as (keyof typeof ERROR_CATALOGUE)[];
for (const code of ordered) {
  const e = ERROR_CATALOGUE[code];
  const origin = contract.has(code) ? 'contract' : 'extension';
  lines.push(`| \`${code}\` | ${e.status} | ${e.fault} | ${origin} | ${e.message} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
