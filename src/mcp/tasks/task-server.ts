/**
 * An SDK v2 `Server` that can answer `tools/call` with a task. The SDK
 * validates every `tools/call` result against the protocol's
 * `CallToolResult` (`content` required), which a `CreateTaskResult`
 * (`resultType: "task"`) is not: the Tasks extension is not in the SDK's
 * schemas. Every other result is validated as before; the outbound seam lets
 * `resultType: "task"` through for `tools/call`.
 */
import { Server, type ServerContext } from '@modelcontextprotocol/server';

type Handler = Parameters<Server['_wrapHandler']>[1];

/** Carries a task past the SDK's result validation, which only sees ordinary results. */
class TaskAnswer {
  readonly result: Awaited<ReturnType<Handler>>;
  constructor(result: Awaited<ReturnType<Handler>>) {
    this.result = result;
  }
}

const isTask = (r: unknown): boolean =>
  r !== null && typeof r === 'object' && (r as { resultType?: unknown }).resultType === 'task';

export class TaskServer extends Server {
  protected override _wrapHandler(method: string, handler: Handler): Handler {
    if (method !== 'tools/call') return super._wrapHandler(method, handler);
    const validated = super._wrapHandler(method, async (request, ctx: ServerContext) => {
      const result = await handler(request, ctx);
      if (isTask(result)) throw new TaskAnswer(result);
      return result;
    });
    return async (request, ctx) => {
      try {
        return await validated(request, ctx);
      } catch (err) {
        if (err instanceof TaskAnswer) return err.result;
        throw err;
      }
    };
  }
}
