import { isToolcageError, type TransportHints } from '../errors/toolcage-error.ts';

/**
 * The CLI's words for the next steps core errors point at (`ToolcageError#hint`):
 * the command to run. The core names no command, so a renamed command changes here only.
 */
export const CLI_HINTS: TransportHints = {
  list_tools: 'List the allowed tools with `toolcage status`.',
  request_approval:
    'A human approves it with `toolcage broker approve --tool ID --args FILE --sub S`.',
  approve_request: (h) =>
    `An approver approves it${h.consoleUrl ? ` at ${h.consoleUrl} or` : ''} with \`toolcage approvals approve ${h.requestId ?? 'ID'}\`.`,
  resume_session: (h) => `Resume it with \`toolcage sessions resume ${h.session ?? 'ID'}\`.`,
  lock_registry: 'Run `toolcage registry lock`.',
  build_images: 'Build the images with `toolcage images build`.',
  generate_key: 'Create one with `toolcage keys generate`.',
  make_api_key:
    'Make an API key with `toolcage keys api-key --name NAME` and paste the line it prints.',
  init_workspace: 'Create a workspace with `toolcage init`, or pass --config FILE.',
  explain_policy: '`toolcage policy explain` shows why.',
  check_policy: '`toolcage policy check` lists every problem.',
};

/** An error's message as the CLI shows it in a log line: with the command its hint points at. */
export function cliMessage(err: unknown): string {
  return isToolcageError(err) ? err.messageFor(CLI_HINTS) : String((err as Error)?.message ?? err);
}
