// The error catalogue (src/errors/catalogue.ts) and the contract's table (shared/CONTRACT.md) are kept in
// step both ways: every contract code exists with the same HTTP status, and every contract-listed code in
// the catalogue is in the contract. If the README has an error table, it is checked the same way.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CONTRACT_CODES,
  ERROR_CATALOGUE,
  httpStatusOf,
  isErrorCode,
} from '../../src/errors/catalogue.ts';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';

const CONTRACT = new URL('../../../shared/CONTRACT.md', import.meta.url);
const README = new URL('../../README.md', import.meta.url);

/** `| \`code\` | 401 | ... |` rows of a markdown table. */
function errorTable(markdown: string): Map<string, number> {
  const rows = new Map<string, number>();
  for (const m of markdown.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|/gm))
    rows.set(m[1]!, Number(m[2]));
  return rows;
}

describe.skipIf(!existsSync(CONTRACT))('the contract table', () => {
  const table = existsSync(CONTRACT)
    ? errorTable(readFileSync(CONTRACT, 'utf8'))
    : new Map<string, number>();

  it('lists the 27 contract codes', () => {
    expect(table.size).toBe(27);
  });

  it('every contract code is in the catalogue with the same HTTP status', () => {
    for (const [code, status] of table) {
      expect(isErrorCode(code), code).toBe(true);
      expect([code, ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status]).toEqual([
        code,
        status,
      ]);
    }
  });

  it('CONTRACT_CODES is exactly the contract table, in its order', () => {
    expect([...CONTRACT_CODES]).toEqual([...table.keys()]);
  });
});

describe('README error table (when the README has one)', () => {
  const readme = existsSync(README) ? readFileSync(README, 'utf8') : '';
  const table = errorTable(readme);
  it.skipIf(table.size === 0)(
    'lists every catalogue code with its status, and nothing else',
    () => {
      for (const [code, status] of table) {
        expect(isErrorCode(code), `README lists unknown code ${code}`).toBe(true);
        expect([code, status]).toEqual([code, httpStatusOf(code as keyof typeof ERROR_CATALOGUE)]);
      }
      for (const code of Object.keys(ERROR_CATALOGUE))
        expect(table.has(code), `README misses ${code}`).toBe(true);
    },
  );
});

describe('the catalogue itself', () => {
  it('server faults never get a client status, and client faults never a 5xx', () => {
    for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
      expect([
        code,
        e.fault === 'server' ? e.status >= 500 : e.status >= 400 && e.status < 500,
      ]).toEqual([code, true]);
    }
  });

  it('every message is a sentence a person can act on, and echoes no placeholder', () => {
    for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
      expect(e.message, code).toMatch(/^[A-Z].*\.$/);
      expect(e.message, code).not.toMatch(/\$\{|undefined|TODO/);
    }
  });

  it('a ToolcageError carries the code, the catalogue status and message, and the contract body', () => {
    const e = new ToolcageError('claim_replayed');
    expect(e).toMatchObject({
      code: 'claim_replayed',
      status: 409,
      message: ERROR_CATALOGUE.claim_replayed.message,
    });
    expect(e.toBody('req_1')).toEqual({
      error: {
        code: 'claim_replayed',
        message: ERROR_CATALOGUE.claim_replayed.message,
        requestId: 'req_1',
      },
    });
  });

  it('isErrorCode is not fooled by inherited names', () => {
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty'])
      expect(isErrorCode(name)).toBe(false);
  });
});
