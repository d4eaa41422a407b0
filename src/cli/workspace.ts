import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeKeyPair } from './commands/keys.ts';
import { loadSigningKey } from '../claims/keys.ts';
import { writeSignedLock } from '../registry/lock-build.ts';
import { parseManifest } from '../registry/manifest.ts';
import { readFileSync } from 'node:fs';
import type { ImageIdentityResolver } from '../registry/scan.ts';

/** The package's own example manifests (tool-manifests/ at the package root). */
export const EXAMPLE_MANIFESTS_DIR = fileURLToPath(
  new URL('../../tool-manifests/', import.meta.url),
);

export const DEFAULT_POLICY = `# Broker policy: who may ask for which tool, for how long, with which scopes.
# Deny by default: a principal with no role, or a role that does not list the
# tool, gets no claim. High-risk tools always need a human approval.
maxTtlSeconds: 300
defaultTtlSeconds: 60
approvalTtlSeconds: 900
risk:
  low: { ttlSeconds: 120 }
  medium: { ttlSeconds: 60 }
  high: { ttlSeconds: 180, approval: required }
tools: {}
roles:
  admin: { tools: ["*"] }
  analyst: { tools: ["text.*", "data.*"], scopes: ["text:read", "data:read"] }
  support: { tools: ["text.word_count"], scopes: ["text:read"] }
# Who may approve or deny approval requests, for which tools and tenants.
approvers:
  approver: { tools: ["*"], tenants: ["*"] }
# DEV WORKSPACE ONLY: the local user approves their own agent's calls. Remove
# this line (or set false) wherever more than one person uses the broker.
allowSelfApproval: true
principals:
  local-user: [admin, approver]
`;

export const DEFAULT_CONFIG = `# toolcage workspace configuration. Relative paths resolve from this file's folder.
subject: local-user
tenant: default
# A dev workspace: \`toolcage dev call\` may mint and run in one step. Remove it on a runner host.
dev: true
registry:
  dir: tool-manifests
  publicKeys: keys/registry.jwks.json
  signingKey: keys/registry.private.jwk.json
broker:
  issuer: toolcage-broker
  signingKeys: [keys/broker.private.jwk.json]
  policy: broker-policy.yaml
runner:
  audience: toolcage-runner
  trustedIssuers: [toolcage-broker]
  brokerKeys: { jwksFile: keys/broker.jwks.json }
  maxTtlSeconds: 300
  clockToleranceSeconds: 30
state:
  stores: sqlite
  sqliteFile: .toolcage/state.db
audit:
  destination: file
  file: .toolcage/audit.log
  signingKey: keys/audit.private.jwk.json
  publicKeys: keys/audit.jwks.json
# Credential lanes: a short-lived credential per run, added by the runner at the
# egress boundary (the tool never sees it) and only to the lane's own hosts.
# Uncomment to give github.create_pull_request its credential (set hosts and
# audience to your API). The github lane mints a JWT signed by the runner key
# \`toolcage init\` generated (keys/runner.private.jwk.json; its public half,
# keys/runner.jwks.json, is served at GET /.well-known/runner-jwks.json for the
# downstream to verify). For github.com itself, which only takes its own
# tokens, use a static lane instead:
#   github: { kind: static, env: TOOLCAGE_GITHUB_TOKEN, hosts: [...], requiredScopes: [pr:create] }
# credentials:
#   signingKey: keys/runner.private.jwk.json
#   lanes:
#     github:
#       kind: minted
#       audience: https://api.github.com
#       hosts: [{ host: api.github.com, port: 443 }]   # over https (scheme: http only for 127.0.0.1 test lanes)
#       expose: [egress]       # the default: the tool never holds the value
#       reflection: refuse     # withhold responses that echo request headers (default: scan)
#       requiredScopes: [pr:create]
#       scopes: [pr:create]
`;

export interface InitResult {
  dir: string;
  tools: string[];
  skipped: string[];
}

/**
 * A ready workspace: config, broker policy, fresh dev keys (broker,
 * registry, and the runner's minting key), the example tools and a lock signed by the new registry key.
 * Docker tools are included only when `imageIdentity` can hash their images.
 */
export async function initWorkspace(
  dirArg: string,
  options: { imageIdentity?: ImageIdentityResolver; force?: boolean } = {},
): Promise<InitResult> {
  const dir = resolve(dirArg);
  mkdirSync(dir, { recursive: true });
  if (!options.force && existsSync(join(dir, 'toolcage.config.yaml'))) {
    throw new Error(`${dir} already holds a toolcage.config.yaml; pass --force to overwrite`);
  }
  const manifests = join(dir, 'tool-manifests');
  mkdirSync(manifests, { recursive: true });
  const skipped: string[] = [];
  for (const entry of readdirSync(EXAMPLE_MANIFESTS_DIR, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const src = join(EXAMPLE_MANIFESTS_DIR, entry.name);
    const manifestFile = join(src, 'manifest.yaml');
    if (!existsSync(manifestFile)) continue;
    const manifest = parseManifest(readFileSync(manifestFile, 'utf8'), manifestFile);
    if (manifest.runtime === 'docker' && !options.imageIdentity) {
      skipped.push(manifest.id);
      continue;
    }
    cpSync(src, join(manifests, entry.name), { recursive: true });
  }
  writeFileSync(join(dir, 'toolcage.config.yaml'), DEFAULT_CONFIG);
  writeFileSync(join(dir, 'broker-policy.yaml'), DEFAULT_POLICY);
  await writeKeyPair(join(dir, 'keys'), 'broker', 'EdDSA', true);
  await writeKeyPair(join(dir, 'keys'), 'registry', 'EdDSA', true);
  // The runner's own minting key (credentials.signingKey), so a minted lane works as soon as it is configured.
  await writeKeyPair(join(dir, 'keys'), 'runner', 'EdDSA', true);
  // Signs the audit trail's checkpoints (audit.signingKey); `toolcage audit verify` checks them with audit.jwks.json.
  await writeKeyPair(join(dir, 'keys'), 'audit', 'EdDSA', true);
  writeFileSync(join(dir, '.gitignore'), '.toolcage/\nkeys/*.private.jwk.json\n');
  const lock = await writeSignedLock(
    manifests,
    await loadSigningKey(join(dir, 'keys', 'registry.private.jwk.json')),
    options.imageIdentity,
  );
  return { dir, tools: lock.tools.map((t) => t.id), skipped };
}
