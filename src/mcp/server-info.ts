/** How toolcage introduces itself to MCP clients, in both protocol eras. */
export const MCP_SERVER_INFO = { name: 'toolcage', version: '0.1.0' } as const;

/** What the server tells every client about its results (both eras). */
export const MCP_INSTRUCTIONS =
  'Tools run in toolcage sandboxes under short-lived claims. A refused or failed call is an isError result whose text starts with the toolcage error code and message (the same error object is in _meta["toolcage/error"]); approval_required names the approval request a human must approve before the same call is retried.';
