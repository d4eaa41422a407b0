/** `toolcage/mcp`: delegate an MCP server's tools to a toolcage runner. */
export {
  registerToolcageTools,
  type ToolcageTools,
  type ToolcageToolsOptions,
} from './mcp/delegate.ts';
export {
  InProcessRunnerClient,
  HttpRunnerClient,
  type RunnerClient,
  type HttpRunnerClientOptions,
} from './mcp/runner-client.ts';
export { BrokerClaimProvider, type ClaimProvider, type Principal } from './mcp/claim-provider.ts';
// A remote broker: claims from `toolcage broker serve`, with no signing key in this process.
export {
  RemoteBrokerClaimProvider,
  type RemoteBrokerClaimProviderOptions,
} from './mcp/remote-broker.ts';
export {
  ApiKeyCredential,
  ClientCredentialsToken,
  type BrokerCredential,
  type ClientCredentialsOptions,
} from './mcp/broker-credentials.ts';
