import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { JSONWebKeySet, JWK } from 'jose';
import { randomBytes } from 'node:crypto';
import { generateSigningKey, type SigningAlg } from '../../claims/keys.ts';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import { apiKeyHash } from '../../identity/verifier.ts';
import { action, configFrom, printJson, writeSecretFile } from '../io.ts';
import { recordDecision } from '../../audit/audit.ts';
import { withCliAudit } from '../../runtime/audit.ts';

/**
 * Writes `<name>.private.jwk.json` (mode 0600) and adds its public half to
 * `<name>.jwks.json`. Older keys stay in the JWKS (rotation: claims they
 * signed keep verifying until they expire); remove them with --replace.
 */
export async function writeKeyPair(
  dir: string,
  name: string,
  alg: SigningAlg,
  replace: boolean,
): Promise<{ kid: string; privateFile: string; jwksFile: string; previousKid?: string }> {
  mkdirSync(dir, { recursive: true });
  const { privateJwk, publicJwk } = await generateSigningKey(alg);
  const privateFile = join(dir, `${name}.private.jwk.json`);
  const jwksFile = join(dir, `${name}.jwks.json`);
  const existing: JWK[] =
    !replace && existsSync(jwksFile)
      ? ((JSON.parse(readFileSync(jwksFile, 'utf8')) as JSONWebKeySet).keys ?? [])
      : [];
  let previousKid: string | undefined;
  if (existsSync(privateFile))
    previousKid = (JSON.parse(readFileSync(privateFile, 'utf8')) as JWK).kid;
  if (!replace && existsSync(privateFile)) {
    // Keep the previous private key beside the new one, so an operator can roll back.
    const old = JSON.parse(readFileSync(privateFile, 'utf8')) as JWK;
    writeSecretFile(
      join(dir, `${name}.${old.kid ?? 'previous'}.private.jwk.json`),
      `${JSON.stringify(old, null, 2)}\n`,
    );
  }
  writeSecretFile(privateFile, `${JSON.stringify(privateJwk, null, 2)}\n`);
  writeFileSync(
    jwksFile,
    `${JSON.stringify({ keys: [publicJwk, ...existing.filter((k) => k.kid !== publicJwk.kid)] }, null, 2)}\n`,
  );
  return { kid: publicJwk.kid!, privateFile, jwksFile, ...(previousKid ? { previousKid } : {}) };
}

export function keysCommand(): Command {
  const keys = new Command('keys').description('Signing keys for the broker and the registry lock');
  keys
    .command('generate')
    .description(
      'Generate a signing key pair: a private JWK and the public JWKS (kid = RFC 7638 thumbprint)',
    )
    .addOption(
      new Option('--alg <alg>', 'signature algorithm').choices(['EdDSA', 'ES256']).default('EdDSA'),
    )
    .option('--dir <dir>', 'where to write the files', 'keys')
    .option('--name <name>', 'file name stem: broker, registry, runner, audit', 'broker')
    .option(
      '--config <file>',
      'record the rotation on this workspace audit trail (when the file exists)',
      'toolcage.config.yaml',
    )
    .option(
      '--replace',
      'drop older public keys from the JWKS instead of keeping them for rotation',
      false,
    )
    .action(
      action(
        async (opts: {
          alg: SigningAlg;
          dir: string;
          name: string;
          replace: boolean;
          config: string;
        }) => {
          const written = await writeKeyPair(opts.dir, opts.name, opts.alg, opts.replace);
          if (existsSync(opts.config)) {
            // A new audit key signs the checkpoints of chains opened after it, this one included.
            await withCliAudit(configFrom(opts), 'keys-generate', (audit) =>
              recordDecision(audit, {
                kind: 'keys_rotated',
                origin: 'cli',
                keyName: opts.name,
                kid: written.kid,
                ...(written.previousKid ? { previousKid: written.previousKid } : {}),
                replaced: opts.replace,
              }),
            );
          }
          printJson(written);
        },
      ),
    );
  keys
    .command('api-key')
    .description(
      'Make a broker API key: prints the key once (it is stored nowhere) and the broker.apiKeys line holding only its sha256',
    )
    .requiredOption('--name <name>', 'the key id, also its subject unless --subject')
    .option('--subject <subject>', 'the principal the key acts as (default: the name)')
    .option(
      '--role <role>',
      'a role of the broker policy (repeatable)',
      (r: string, prev: string[]) => [...prev, r],
      [] as string[],
    )
    .option('--tenant <tenant>', 'the tenant the key acts for (default: the config tenant)')
    .action(
      action(async (opts: { name: string; subject?: string; role: string[]; tenant?: string }) => {
        printJson(newApiKey(opts));
      }),
    );
  return keys;
}

/**
 * A fresh broker API key: 32 random bytes, base64url, prefixed `tck_` so a
 * leaked one is recognisable. The config keeps only `sha256` (hex of the
 * key's UTF-8 bytes), which is what `configLine` holds.
 */
export function newApiKey(opts: {
  name: string;
  subject?: string;
  role?: string[];
  tenant?: string;
}): {
  key: string;
  sha256: string;
  configLine: string;
  note: string;
} {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(opts.name))
    throw new ToolcageError('request_invalid', {
      message: `--name must be 1-64 letters, digits, dots, dashes or underscores, got ${JSON.stringify(opts.name.slice(0, 80))}.`,
    });
  const key = `tck_${randomBytes(32).toString('base64url')}`;
  const sha256 = apiKeyHash(key);
  const entry = {
    id: opts.name,
    sha256,
    subject: opts.subject ?? opts.name,
    roles: opts.role ?? [],
    ...(opts.tenant ? { tenant: opts.tenant } : {}),
  };
  return {
    key,
    sha256,
    configLine: `- ${JSON.stringify(entry)}`,
    note: 'Give the key to the caller now (header X-API-Key); it is not stored and cannot be shown again. Add configLine under broker.apiKeys in toolcage.config.yaml.',
  };
}
