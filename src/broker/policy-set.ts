import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { Policy } from './policy.ts';
import { canonicalJson, sha256Hex } from '../util/hash.ts';
import { ConditionEngine } from '../policy/conditions.ts';

/** The Cedar conditions a policy names (`conditions.cedarFile`, relative to the policy file), if any. */
export function loadConditions(policy: Policy, policyFile: string): ConditionEngine | undefined {
  const file = policy.conditions?.cedarFile;
  if (!file) return undefined;
  const path = resolve(dirname(policyFile), file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ToolcageError('config_invalid', {
      message: `Cannot read the Cedar policies ${path} (conditions.cedarFile in ${policyFile}): ${(cause as Error).message}`,
      cause,
    });
  }
  return ConditionEngine.fromText(text, path);
}

/** `sha256:<hex>` over the YAML policy as parsed and the Cedar text: what the decision record names. */
export function policySetHash(policy: Policy, conditions: ConditionEngine | undefined): string {
  return `sha256:${sha256Hex(canonicalJson({ policy, cedar: conditions?.text ?? null }))}`;
}
