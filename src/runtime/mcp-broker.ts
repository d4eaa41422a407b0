import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import type { LoadedConfig } from '../config/load.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import {
  ApiKeyCredential,
  ClientCredentialsToken,
  type BrokerCredential,
} from '../mcp/broker-credentials.ts';
import { RemoteBrokerClaimProvider } from '../mcp/remote-broker.ts';

function readSecret(file: string, key: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (cause) {
    throw new ToolcageError('config_invalid', {
      message: `Cannot read ${key} (${file}): ${(cause as NodeJS.ErrnoException).code ?? 'unreadable'}.`,
      cause,
    });
  }
  if (text === '')
    throw new ToolcageError('config_invalid', { message: `${key} (${file}) is empty.` });
  return text;
}

/**
 * `mcp.broker` as the claim provider of `toolcage mcp`: this server's own
 * credential (API key or client-credentials token) and, when configured, the
 * DPoP key its claims are bound to. Undefined when the config names no remote
 * broker (the local broker mints then).
 */
export function remoteBrokerFrom(
  loaded: LoadedConfig,
  runnerUrl: string | undefined,
): { claims: RemoteBrokerClaimProvider; dpopKey: JWK | undefined } | undefined {
  const b = loaded.config.mcp.broker;
  if (!b) return undefined;
  let credential: BrokerCredential;
  if (b.apiKeyFile) {
    credential = new ApiKeyCredential({
      key: readSecret(loaded.path(b.apiKeyFile), 'mcp.broker.apiKeyFile'),
    });
  } else {
    const cc = b.clientCredentials!;
    credential = new ClientCredentialsToken({
      tokenUrl: cc.tokenUrl,
      clientId: cc.clientId,
      clientSecret: readSecret(
        loaded.path(cc.clientSecretFile),
        'mcp.broker.clientCredentials.clientSecretFile',
      ),
      scope: cc.scope,
      resource: cc.resource,
    });
  }
  let dpopKey: JWK | undefined;
  if (b.dpopKeyFile) {
    // A bound claim needs a proof at the runner; the in-process runner has no DPoP edge to check one.
    if (!runnerUrl)
      throw new ToolcageError('config_invalid', {
        message:
          'mcp.broker.dpopKeyFile binds claims to a key that the runner then checks (RFC 9449): set mcp.runnerUrl (or --runner-url) to the runner service, or remove dpopKeyFile.',
      });
    try {
      dpopKey = JSON.parse(readSecret(loaded.path(b.dpopKeyFile), 'mcp.broker.dpopKeyFile')) as JWK;
    } catch (cause) {
      if (cause instanceof ToolcageError) throw cause;
      throw new ToolcageError('config_invalid', {
        message: `mcp.broker.dpopKeyFile (${b.dpopKeyFile}) is not a JSON private JWK.`,
      });
    }
    if (typeof dpopKey?.d !== 'string' || (dpopKey.kty !== 'EC' && dpopKey.kty !== 'OKP'))
      throw new ToolcageError('config_invalid', {
        message: `mcp.broker.dpopKeyFile (${b.dpopKeyFile}) must hold a private EC P-256 or Ed25519 JWK.`,
        hint: 'generate_key',
      });
  }
  return {
    claims: new RemoteBrokerClaimProvider({ url: b.url, credential, dpopKey }),
    dpopKey,
  };
}
