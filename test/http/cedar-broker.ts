// The workspace the Cedar approval tests share: the comment and patch tools pinned in a signed lock,
// the call and approve Cedar policies, and the caller's YAML policy naming them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSigningKey } from '../../src/claims/keys.ts';
import { writeSignedLock } from '../../src/registry/lock-build.ts';
import { addCommentTool, addPatchFileTool, APPROVE_CEDAR, CEDAR } from '../helpers/comment-tool.ts';

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
