import { Command } from 'commander';
import { resolve } from 'node:path';
import { ToolcageError } from '../../errors/toolcage-error.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { createBrokerRuntime } from '../lazy.ts';
import type { ToolcageMcpService } from '../../runtime/mcp-service.ts';
import type { McpHttpServer } from '../../mcp/http.ts';
import { configCheck, startFiles } from '../../runtime/config-check.ts';
import { action, configFrom } from '../io.ts';
import { cliMessage } from '../hints.ts';
import { decideFromCli } from './approvals.ts';

interface McpOptions {
  config: string;
  port?: string;
  host?: string;
  runnerUrl?: string;
  watch: boolean;
}

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ToolcageError('request_invalid', {
      message: `--port must be a whole number from 0 to 65535, got ${value}`,
    });
  return n;
}

async function startWithIdentity(
  loaded: LoadedConfig,
  host: string,
  port: number,
  service: ToolcageMcpService,
): Promise<McpHttpServer> {
  const { IdentityVerifier } = await import('../../identity/verifier.ts');
  const { startMcpHttp } = await import('../../mcp/http.ts');
  const m = loaded.config.mcp;
  const id = m.identity;
  if (!id) {
    throw new ToolcageError('config_invalid', {
      message:
        'toolcage mcp --port needs mcp.identity in the config (issuer, jwksFile or jwksUrl): HTTP clients must present bearer tokens from an identity provider. Use stdio (no --port) for a local client.',
    });
  }
  const identity = (resourceUrl: string) =>
    new IdentityVerifier({
      defaultTenant: loaded.config.tenant,
      tokens: {
        issuer: id.issuer,
        // RFC 8707: by default a token must be issued for this very resource.
        audience: id.audience ?? resourceUrl,
        keys: id.jwksFile ? { jwksFile: loaded.path(id.jwksFile) } : { jwksUrl: id.jwksUrl! },
        rolesClaim: id.rolesClaim,
        ...(id.tenantClaim ? { tenantClaim: id.tenantClaim } : {}),
        algorithms: id.algorithms,
        clockToleranceSeconds: id.clockToleranceSeconds,
      },
    });
  return startMcpHttp({
    service,
    identity,
    host,
    port,
    ...(m.resourceUrl ? { resourceUrl: m.resourceUrl } : {}),
    authorizationServers: id.authorizationServers ?? [id.issuer],
    maxSessions: m.http.maxSessions,
    maxSessionsPerPrincipal: m.http.maxSessionsPerPrincipal,
    sessionIdleMs: m.http.sessionIdleMs,
  });
}

async function serveHttp(
  loaded: LoadedConfig,
  port: number,
  opts: McpOptions,
  service: ToolcageMcpService,
): Promise<void> {
  const { startMcpHttp } = await import('../../mcp/http.ts');
  const m = loaded.config.mcp;
  const host = opts.host ?? m.http.host;
  const server = m.http.insecureNoAuth
    ? await startMcpHttp({
        service,
        host,
        port,
        ...(m.resourceUrl ? { resourceUrl: m.resourceUrl } : {}),
        authorizationServers: [],
        maxSessions: m.http.maxSessions,
        insecureLocalPrincipal: service.localPrincipal(),
      })
    : await startWithIdentity(loaded, host, port, service);
  // Stop handlers first: a SIGTERM right after the announcement closes the server cleanly.
  const stopped = new Promise<void>((done) => {
    const stop = () => void server.close().then(done, done);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await service.started('http');
  process.stderr.write(
    `${JSON.stringify({ mcp: server.url, resourceMetadata: server.resourceMetadataUrl })}\n`,
  );
  await stopped;
}

/** `toolcage mcp`: the registry's tools as an MCP server (stdio, or Streamable HTTP with --port). */
export function mcpCommand(): Command {
  const mcp = new Command('mcp')
    .description(
      "An MCP server exposing the registry's allowlisted tools through the broker and the runner (stdio, or Streamable HTTP on loopback with --port)",
    )
    .option(
      '--port <n>',
      'serve Streamable HTTP at http://HOST:N/mcp instead of stdio (bearer tokens from mcp.identity)',
    )
    .option('--host <host>', 'HTTP listen address (default mcp.http.host, 127.0.0.1)')
    .option(
      '--runner-url <url>',
      'a remote runner (`toolcage serve`) instead of the in-process one',
    )
    .option('--no-watch', 'do not reload when the registry lock changes (SIGHUP still reloads)')
    .option('--config <file>', 'config file', 'toolcage.config.yaml')
    .action(
      action(async (opts: McpOptions) => {
        const loaded = configFrom(opts);
        const port = parsePort(opts.port);
        const { ToolcageMcpService } = await import('../../runtime/mcp-service.ts');
        const service = await ToolcageMcpService.create(loaded, {
          configFile: resolve(opts.config),
          ...(opts.runnerUrl ? { runnerUrl: opts.runnerUrl } : {}),
          // As `serve`: the Docker backend is made once the transport serves, not before.
          dockerAfterServing: true,
        });
        // SIGHUP reloads the registry; the config and the policy are read at start only, and the
        // trail says whether the files on disk are still the ones in effect.
        const checkConfig = configCheck({
          audit: service.audit,
          // With a remote broker the policy files are not this host's: only the config is.
          files: startFiles(opts.config, service.policy ? loaded : undefined, service.policy),
        });
        const onHup = () => {
          void service
            .reload()
            .catch((err: unknown) =>
              process.stderr.write(`toolcage mcp: reload failed: ${cliMessage(err)}\n`),
            );
          void checkConfig();
        };
        process.on('SIGHUP', onHup);
        if (opts.watch) service.watchLock();
        try {
          if (port === undefined) {
            const { serveStdio } = await import('../../mcp/stdio.ts');
            // Ends when the client closes stdin, or on SIGTERM/SIGINT: either way the service is
            // closed below (its stop recorded, the trail sealed) before the process exits.
            const signalled = new Promise<NodeJS.Signals>((done) => {
              process.once('SIGTERM', done);
              process.once('SIGINT', done);
            });
            const serving = serveStdio(service);
            await service.started('stdio');
            const ended = await Promise.race([serving.then(() => undefined), signalled]);
            if (ended) {
              process.off('SIGHUP', onHup);
              await service.close();
              // stdin stays open (the client did not close it): nothing else ends this process.
              process.exit(0);
            }
          } else {
            await serveHttp(loaded, port, opts, service);
          }
        } finally {
          process.off('SIGHUP', onHup);
          await service.close();
        }
      }),
    );
  mcp
    .command('approve')
    .description(
      'Approve (or --deny --reason) a pending approval request; a shortcut for `toolcage approvals approve|deny`, same rules',
    )
    .argument('<id>', 'approval id (apr_...)')
    .option('--deny', 'deny instead of approve', false)
    .option('--reason <text>', 'why (required with --deny; shown to the agent)')
    .option('--by <approver>', 'who decides (default: the config subject)')
    // --config is the parent's option (commander hands it to `mcp` wherever it appears).
    .action(
      action(async (id: string, _opts: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<{
          config: string;
          deny: boolean;
          by?: string;
          reason?: string;
        }>();
        const loaded = configFrom(opts);
        const remote = loaded.config.mcp.broker;
        // This host has no broker (and no signing key): the approval is the remote broker's to record.
        if (remote)
          throw new ToolcageError('request_invalid', {
            message: `This MCP server asks the broker at ${remote.url} for its claims, so approvals are decided there: open the request in that broker's console, run \`toolcage approvals approve ${id.slice(0, 128)}\` with the broker's config, or POST ${remote.url.replace(/\/+$/, '')}/v1/approvals/${encodeURIComponent(id.slice(0, 128))}/approve as an approver.`,
          });
        const rt = await createBrokerRuntime(loaded, {
          auditService: 'cli.mcp-approve',
          origin: 'cli',
        });
        try {
          await decideFromCli(rt, {
            id,
            by: opts.by ?? loaded.config.subject,
            decision: opts.deny ? 'denied' : 'approved',
            reason: opts.reason,
          });
        } finally {
          await rt.close();
        }
      }),
    );
  return mcp;
}
