import { ToolcageError } from '../errors/toolcage-error.ts';

/**
 * How `toolcage mcp` authenticates itself to a remote broker: its own
 * identity, never the MCP caller's token (which is only for this server).
 */
export interface BrokerCredential {
  /** The headers that authenticate this MCP server on one broker request. */
  headers(signal?: AbortSignal): Promise<Record<string, string>>;
  /** The broker refused the credential: drop anything cached; true when there was (a retry may succeed). */
  invalidate(): boolean;
}

function unavailable(message: string, cause?: unknown): ToolcageError {
  return new ToolcageError('broker_unavailable', {
    message,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A broker API key (`toolcage keys api-key`), sent as `X-API-Key`. */
export class ApiKeyCredential implements BrokerCredential {
  readonly #key: string;

  constructor(options: { key: string }) {
    const key = options?.key?.trim();
    if (!key) throw new TypeError('Expected options.key to be a non-empty API key');
    this.#key = key;
  }

  async headers(): Promise<Record<string, string>> {
    return { 'x-api-key': this.#key };
  }

  invalidate(): boolean {
    return false;
  }
}

export interface ClientCredentialsOptions {
  /** The identity provider's token endpoint. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to ask for. */
  scope?: string | undefined;
  /** RFC 8707 `resource` (the broker's audience), when the provider needs it to pick the audience. */
  resource?: string | undefined;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * An OAuth 2.0 client-credentials access token (RFC 6749 §4.4) from the
 * identity provider the broker trusts (`broker.identity`), sent as Bearer. The
 * client authenticates with HTTP Basic (§2.3.1). The token is reused until
 * 30 s before its `expires_in`, and fetched anew after the broker refused it.
 */
export class ClientCredentialsToken implements BrokerCredential {
  readonly #o: ClientCredentialsOptions & { fetch: typeof fetch; now: () => number };
  #cached: { token: string; until: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(options: ClientCredentialsOptions) {
    for (const k of ['tokenUrl', 'clientId', 'clientSecret'] as const)
      if (typeof options?.[k] !== 'string' || options[k] === '')
        throw new TypeError(`Expected options.${k} to be a non-empty string`);
    this.#o = { fetch, now: Date.now, ...options };
  }

  async headers(signal?: AbortSignal): Promise<Record<string, string>> {
    const now = this.#o.now();
    if (this.#cached && now < this.#cached.until)
      return { authorization: `Bearer ${this.#cached.token}` };
    this.#pending ??= this.#fetchToken(signal).finally(() => {
      this.#pending = undefined;
    });
    return { authorization: `Bearer ${await this.#pending}` };
  }

  invalidate(): boolean {
    const had = this.#cached !== undefined;
    this.#cached = undefined;
    return had;
  }

  async #fetchToken(signal?: AbortSignal): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.#o.scope) form.set('scope', this.#o.scope);
    if (this.#o.resource) form.set('resource', this.#o.resource);
    // RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding.
    const basic = Buffer.from(
      `${encodeURIComponent(this.#o.clientId)}:${encodeURIComponent(this.#o.clientSecret)}`,
    ).toString('base64');
    let res: Response;
    try {
      res = await this.#o.fetch(this.#o.tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        signal: signal
          ? AbortSignal.any([signal, AbortSignal.timeout(10_000)])
          : AbortSignal.timeout(10_000),
      });
    } catch (cause) {
      throw unavailable(
        `The token endpoint ${new URL(this.#o.tokenUrl).origin} is not reachable, so this MCP server cannot authenticate to its broker; retry later or ask the operator.`,
        cause,
      );
    }
    const body = (await res.json().catch(() => undefined)) as
      { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
    if (!res.ok || typeof body?.access_token !== 'string' || body.access_token === '') {
      // The provider's error code only (RFC 6749 §5.2); never its description, which may echo input.
      const code = typeof body?.error === 'string' ? ` (${body.error.slice(0, 64)})` : '';
      throw unavailable(
        `The token endpoint refused this MCP server's client credentials: HTTP ${res.status}${code}. The operator must fix mcp.broker.clientCredentials.`,
      );
    }
    const lifetime =
      typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    this.#cached = {
      token: body.access_token,
      until: this.#o.now() + Math.max(0, lifetime - 30) * 1000,
    };
    return body.access_token;
  }
}
