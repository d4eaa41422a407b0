import { ToolcageError } from '../errors/toolcage-error.ts';

/** Session ids: what an MCP session id, an HTTP header or a CLI flag may carry. */
export const SESSION_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Refuses a session id outside SESSION_ID (`request_invalid`); undefined is "no session". */
export function checkSession(session: string | undefined): void {
  if (session === undefined) return;
  if (typeof session !== 'string' || !SESSION_ID.test(session))
    throw new ToolcageError('request_invalid', {
      message: `A session id must be 1 to 128 letters, digits, "_", ".", ":" or "-"; got ${JSON.stringify(String(session).slice(0, 40))}.`,
    });
}
