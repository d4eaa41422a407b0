// The workspace the Cedar approval tests share: the comment and patch tools pinned in a signed lock,
// the call and approve Cedar policies, and the caller's YAML policy naming them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSigningKey } from '../../src/claims/keys.ts';
import { writeSignedLock } from '../../src/registry/lock-build.ts';
import { addCommentTool, addPatchFileTool, APPROVE_CEDAR, CEDAR } from '../helpers/comment-tool.ts';
import { loadConfig } from '../../src/config/load.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { makeWorkspace, memoryLogger, type Workspace } from './helpers.ts';

/** `policyYaml` is the whole broker-policy.yaml; it should name `conditions: { cedarFile: broker-policy.cedar }`. */
export async function pinCedarApprovalTools(
  ws: { dir: string },
  policyYaml: string,
): Promise<void> {
  const manifests = join(ws.dir, 'tool-manifests');
  addCommentTool({ manifests });
  addPatchFileTool({ manifests });
  await writeSignedLock(
    manifests,
    await loadSigningKey(join(ws.dir, 'keys', 'registry.private.jwk.json')),
  );
  writeFileSync(join(ws.dir, 'broker-policy.cedar'), `${CEDAR}\n${APPROVE_CEDAR}`);
  writeFileSync(join(ws.dir, 'broker-policy.yaml'), policyYaml);
}

/** The API keys of the Cedar approval broker: an admin (`dev`), a docs lead and a plain approver. */
export interface CedarApprovalKeys {
  dev: string;
  lead: string;
  alice: string;
}

/**
 * A broker on loopback whose approvers are decided by Cedar: `dev` (admin),
 * `lead` (approver, docs-lead: the approve policy's forbid covers a docs lead
 * approving a patch under src/) and `alice` (approver), all of tenant acme.
 */
export async function startCedarApprovalBroker(
  keys: CedarApprovalKeys,
): Promise<{ ws: Workspace; broker: BrokerService; url: string }> {
  const key = (id: keyof CedarApprovalKeys, roles: string[]) => ({
    id,
    sha256: apiKeyHash(keys[id]),
    subject: id,
    roles,
    tenant: 'acme',
  });
  const ws = await makeWorkspace({
    broker: {
      apiKeys: [
        key('dev', ['admin']),
        key('lead', ['approver', 'docs-lead']),
        key('alice', ['approver']),
      ],
    },
  });
  await pinCedarApprovalTools(
    ws,
    `roles:
  admin: { tools: ["*"] }
approvers:
  approver: { tools: ["*"] }
  docs-lead: { tools: ["*"] }
conditions: { cedarFile: broker-policy.cedar }
`,
  );
  ws.loaded = loadConfig(ws.configFile);
  const broker = await createBrokerService(ws.loaded, { logger: memoryLogger().logger });
  const url = await broker.listen({ host: '127.0.0.1', port: 0 });
  return { ws, broker, url };
}
