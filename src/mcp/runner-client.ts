import type { JWK } from 'jose';
import { createDpopProof } from '../claims/dpop.ts';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { errorFromResponse } from './contract-errors.ts';
import type { ExecuteOutcome, Executor, ToolSummary } from '../ports/execute.ts';

/** One invocation as the MCP adapter hands it to a runner. */
export interface RunnerInvocation {
  toolId: string;
  args: unknown;
  /** The claim the broker minted for exactly this call (never the MCP client's own token). */
  claim: string;
  requestId: string;
  signal?: AbortSignal;
  /** The MCP caller's W3C trace context, passed on so the run's spans join its trace. */
  traceparent?: string;
}

/**
 * The runner as the MCP adapter sees it: list the allowlist, invoke one tool
 * under a claim. Refusals and failures reject with a ToolcageError carrying
 * the contract code, wherever the runner lives.
 */
export interface RunnerClient {
  listTools(): Promise<ToolSummary[]>;
  invoke(call: RunnerInvocation): Promise<ExecuteOutcome>;
}

/** The runner in this process: the executor itself (no serialisation, no network). */
export class InProcessRunnerClient implements RunnerClient {
  readonly #executor: Pick<Executor, 'execute' | 'listTools'>;

  constructor(executor: Pick<Executor, 'execute' | 'listTools'>) {
    if (typeof executor?.execute !== 'function')
      throw new TypeError(`Expected an Executor, got ${typeof executor}`);
    this.#executor = executor;
  }

  async listTools(): Promise<ToolSummary[]> {
    return this.#executor.listTools();
  }

  invoke(call: RunnerInvocation): Promise<ExecuteOutcome> {
    return this.#executor.execute({
      toolId: call.toolId,
      args: call.args,
      claim: call.claim,
      requestId: call.requestId,
      mcpMethod: 'tools/call',
      ...(call.signal ? { signal: call.signal } : {}),
      ...(call.traceparent ? { traceparent: call.traceparent } : {}),
    });
  }
}

export interface HttpRunnerClientOptions {
  /** The runner service's base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  /** Per-request timeout for listing tools (invocations are bounded by the runner's own limits and the caller's signal). Default 10 s. */
  listTimeoutMs?: number;
  /**
   * The private JWK claims are bound to (a remote broker with `mcp.broker.dpopKeyFile`):
   * each invocation carries a DPoP proof of it (RFC 9449) and the claim as `DPoP` token.
   */
  dpopKey?: JWK | undefined;
}

/**
 * A remote runner (`toolcage serve`), over the contract's HTTP API:
 * `GET /v1/tools` and `POST /v1/tools/{id}/invoke` with the claim as Bearer.
 * Contract error bodies become ToolcageErrors with the same code.
 */
export class HttpRunnerClient implements RunnerClient {
  readonly #base: URL;
  readonly #fetch: typeof fetch;
  readonly #listTimeoutMs: number;
  readonly #dpopKey: JWK | undefined;

  constructor(options: HttpRunnerClientOptions) {
    let base: URL;
    try {
      base = new URL(options?.baseUrl);
    } catch {
      throw new TypeError(
        `Expected options.baseUrl to be an absolute http(s) URL, got ${String(options?.baseUrl)}`,
      );
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new TypeError(`Expected options.baseUrl to be http(s), got ${base.protocol}`);
    this.#base = new URL(base.pathname.endsWith('/') ? base.href : `${base.href}/`);
    this.#fetch = options.fetch ?? fetch;
    this.#listTimeoutMs = options.listTimeoutMs ?? 10_000;
    this.#dpopKey = options.dpopKey;
  }

  async listTools(): Promise<ToolSummary[]> {
    const res = await this.#send(new URL('v1/tools', this.#base), {
      method: 'GET',
      signal: AbortSignal.timeout(this.#listTimeoutMs),
    });
    const body = (await res.json()) as unknown;
    const tools = Array.isArray(body) ? body : (body as { tools?: unknown })?.tools;
    if (!Array.isArray(tools))
      throw new ToolcageError('sandbox_unavailable', {
        message: `The runner at ${this.#base.origin} answered GET /v1/tools without a tool list.`,
      });
    return tools as ToolSummary[];
  }

  async invoke(call: RunnerInvocation): Promise<ExecuteOutcome> {
    const url = new URL(`v1/tools/${encodeURIComponent(call.toolId)}/invoke`, this.#base);
    const res = await this.#send(url, {
      method: 'POST',
      headers: {
        ...(this.#dpopKey
          ? {
              authorization: `DPoP ${call.claim}`,
              dpop: await createDpopProof({
                privateJwk: this.#dpopKey,
                htm: 'POST',
                htu: url.href,
                accessToken: call.claim,
              }),
            }
          : { authorization: `Bearer ${call.claim}` }),
        'content-type': 'application/json',
        'x-request-id': call.requestId,
        ...(call.traceparent ? { traceparent: call.traceparent } : {}),
      },
      body: JSON.stringify({ args: call.args }),
      ...(call.signal ? { signal: call.signal } : {}),
    });
    const body = (await res.json()) as { result?: unknown; invocationId?: unknown };
    return { result: body.result, invocationId: String(body.invocationId ?? '') };
  }

  async #send(url: URL, init: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await this.#fetch(url, init);
    } catch (cause) {
      if (init.signal?.aborted && (init.signal.reason as Error)?.name !== 'TimeoutError')
        throw cause;
      throw new ToolcageError('sandbox_unavailable', {
        message: `The runner at ${this.#base.origin} is not reachable; retry later or ask the operator.`,
        cause,
      });
    }
    if (res.ok) return res;
    throw await errorFromResponse(res, 'sandbox_unavailable');
  }
}
