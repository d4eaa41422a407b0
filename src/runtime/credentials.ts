/**
 * Builds the credential lanes from the runner's config: wiring, so it lives
 * in the composition root; src/credentials holds the lanes themselves.
 */
import { ToolcageError } from '../errors/toolcage-error.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { EgressGateway } from '../egress/gateway.ts';
import {
  credentialsConfigSchema,
  ExchangeLane,
  LaneCredentialProvider,
  loadRunnerKey,
  MintedLane,
  StaticLane,
  type CredentialLane,
  type CredentialsConfig,
  type RunnerKey,
} from '../credentials/index.ts';

export interface BuiltCredentials {
  provider: LaneCredentialProvider;
  /** The runner's minting key and its public JWKS (undefined without `credentials.signingKey`). */
  runnerKey: RunnerKey | undefined;
}

/**
 * Builds the lanes from `credentials` in the config. A lane that needs the
 * runner's key (minted, exchange) without `credentials.signingKey` is a
 * config error at start-up; a lane a manifest names but the config lacks is
 * refused per call (`sandbox_unavailable`), so a workspace whose example
 * tools name unconfigured lanes still starts.
 */
export async function buildCredentials(
  loaded: LoadedConfig,
  egress: EgressGateway | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BuiltCredentials> {
  const raw = (loaded.config as { credentials?: unknown }).credentials;
  const config: CredentialsConfig = credentialsConfigSchema.parse(raw ?? {});
  const needsKey = Object.values(config.lanes).some((l) => l.kind !== 'static');
  let runnerKey: RunnerKey | undefined;
  if (config.signingKey !== undefined)
    runnerKey = await loadRunnerKey(loaded.path(config.signingKey));
  else if (needsKey)
    throw new ToolcageError('config_invalid', {
      message:
        'credentials.signingKey is required for minted and exchange lanes: the runner signs their tokens. Point credentials.signingKey at a private JWK.',
      hint: 'generate_key',
    });
  const lanes = new Map<string, CredentialLane>();
  for (const [name, lane] of Object.entries(config.lanes)) {
    if (lane.kind === 'minted')
      lanes.set(name, new MintedLane(name, lane, runnerKey!.signing, config.issuer));
    else if (lane.kind === 'static') lanes.set(name, new StaticLane(name, lane, loaded.path, env));
    else
      lanes.set(
        name,
        new ExchangeLane(name, lane, {
          key: runnerKey!.signing,
          issuer: config.issuer,
          resolvePath: loaded.path,
          env,
        }),
      );
  }
  return {
    provider: new LaneCredentialProvider({ lanes, ...(egress ? { egress } : {}) }),
    runnerKey,
  };
}
