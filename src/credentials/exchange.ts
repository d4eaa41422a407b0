import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { SigningKey } from '../claims/keys.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { mintToken } from './minted.ts';
import {
  MIN_SECRET_LENGTH,
  type CredentialLane,
  type LaneContext,
  type LaneCredential,
} from './lane.ts';
import type { LaneConfig } from './config.ts';

type ExchangeConfig = Extract<LaneConfig, { kind: 'exchange' }>;

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Token endpoint responses are small; a larger one is refused unread. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface ExchangeLaneOptions {
  key: SigningKey;
  issuer: string;
  resolvePath: (p: string) => string;
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  now?: () => number;
}

function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || (isIP(h) === 4 && h.startsWith('127.')) || h === '::1';
}

/**
 * `exchange`: OAuth 2.0 Token Exchange (RFC 8693) at the platform's token
 * endpoint. The runner authenticates as its own client (HTTP Basic, RFC 6749
 * §2.3.1) and presents, as `subject_token`, a JWT it mints with the claim's
 * `sub` and `tenant` (never the claim itself: the claim's audience is the
 * runner, RFC 8725 §3.9), asking for an access token for the lane's
 * audience/resource and scope. The token's own `expires_in` is the endpoint's
 * call; with a `revocationEndpoint` it is revoked (RFC 7009) when the run ends.
 */
export class ExchangeLane implements CredentialLane {
  readonly name: string;
  readonly config: ExchangeConfig;
  readonly #o: ExchangeLaneOptions;

  constructor(name: string, config: ExchangeConfig, options: ExchangeLaneOptions) {
    for (const [k, u] of [
      ['tokenEndpoint', config.tokenEndpoint],
      ['revocationEndpoint', config.revocationEndpoint],
    ] as const) {
      if (u === undefined) continue;
      const url = new URL(u);
      if (
        url.protocol !== 'https:' &&
        !(url.protocol === 'http:' && isLoopbackHost(url.hostname))
      ) {
        throw new ToolcageError('config_invalid', {
          message: `credentials.lanes.${name}.${k} must be an https URL (http only on a loopback address).`,
        });
      }
    }
    this.name = name;
    this.config = config;
    this.#o = options;
  }

  #clientSecret(): string {
    const c = this.config;
    let secret: string | undefined;
    if (c.clientSecretEnv !== undefined) secret = (this.#o.env ?? process.env)[c.clientSecretEnv];
    else {
      try {
        secret = readFileSync(this.#o.resolvePath(c.clientSecretFile!), 'utf8').replace(
          /\r?\n$/,
          '',
        );
      } catch {
        secret = undefined;
      }
    }
    if (!secret) throw this.#unavailable('has no client secret configured');
    return secret;
  }

  #basic(): string {
    // RFC 6749 §2.3.1: form-urlencode id and secret before base64.
    const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
    return `Basic ${Buffer.from(`${enc(this.config.clientId)}:${enc(this.#clientSecret())}`).toString('base64')}`;
  }

  async issue(ctx: LaneContext): Promise<LaneCredential> {
    const c = this.config;
    const subjectToken = await mintToken({
      key: this.#o.key,
      issuer: this.#o.issuer,
      audience: c.subjectTokenAudience ?? c.tokenEndpoint,
      sub: ctx.claim.sub,
      tenant: ctx.claim.tenant,
      scope: ctx.scope,
      expiresAtS: Math.ceil(ctx.deadlineMs / 1000) + 5,
      extra: { tool: ctx.toolId },
      ...(this.#o.now ? { now: this.#o.now } : {}),
    });
    const form = new URLSearchParams({
      grant_type: GRANT_TYPE,
      subject_token: subjectToken,
      subject_token_type: JWT_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
    });
    if (c.audience !== undefined) form.set('audience', c.audience);
    if (c.resource !== undefined) form.set('resource', c.resource);
    if (ctx.scope.length > 0) form.set('scope', ctx.scope.join(' '));
    const body = await this.#post(c.tokenEndpoint, form);
    const token = (body as { access_token?: unknown } | undefined)?.access_token;
    if (typeof token !== 'string' || token.length < MIN_SECRET_LENGTH)
      throw this.#unavailable('got no usable access_token from the token endpoint');
    return {
      value: token,
      release:
        c.revocationEndpoint === undefined
          ? undefined
          : async () => {
              await this.#post(
                c.revocationEndpoint!,
                new URLSearchParams({ token, token_type_hint: 'access_token' }),
              ).catch(() => undefined);
            },
    };
  }

  async #post(endpoint: string, form: URLSearchParams): Promise<unknown> {
    const doFetch = this.#o.fetch ?? fetch;
    let res: Response;
    try {
      res = await doFetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          authorization: this.#basic(),
        },
        body: form.toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (cause) {
      if (cause instanceof ToolcageError) throw cause;
      throw this.#unavailable('could not reach its token endpoint', cause);
    }
    const text = await res.text().catch(() => '');
    if (text.length > MAX_RESPONSE_BYTES)
      throw this.#unavailable('got an oversized answer from its token endpoint');
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      // RFC 6749 §5.2 error codes are short ASCII words; nothing else of the body is repeated.
      const code = (json as { error?: unknown } | undefined)?.error;
      const safe = typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? ` (${code})` : '';
      throw this.#unavailable(`was refused by its token endpoint: HTTP ${res.status}${safe}`);
    }
    return json;
  }

  #unavailable(what: string, cause?: unknown): ToolcageError {
    return new ToolcageError('sandbox_unavailable', {
      message: `The credential lane "${this.name}" ${what}. Retry later or ask the operator.`,
      ...(cause ? { cause } : {}),
    });
  }
}
