import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Option, type Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { McpContext } from '../../mcp/context.js';
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_SESSIONS, serveHttp } from '../../mcp/http.js';
import { createMcpServer } from '../../mcp/server.js';
import type { ServerSection } from '../../config/schema.js';
import { log, logLevelFor, logLevelSetByEnvironment } from '../../log.js';
import { standbyStatuses } from '../../standby/manage.js';
import { standbyMetrics } from '../../standby/metrics.js';
import { runScheduler } from '../../standby/scheduler.js';
import { VERSION } from '../../version.js';
import { TOKEN_ENV, readToken, refuseCommandLineToken } from '../token-source.js';

interface ServeOptions {
  http?: boolean;
  readOnly?: boolean;
  host: string;
  port: string;
  token?: string;
  tokenFile?: string;
  allowedHost: string[];
  maxSessions: string;
  sessionIdleTimeout: string;
  standby?: boolean;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the MCP server: over stdio (default) or Streamable HTTP (--http, on 127.0.0.1 unless --host says otherwise)')
    .option('--http', 'serve Streamable HTTP instead of stdio')
    .option('--read-only', 'offer only the actions that change nothing (list, inspect, logs, discover, cleanup check ...)')
    .option('--host <address>', 'HTTP: address to bind; off loopback a token is required', '127.0.0.1')
    .option('--port <port>', 'HTTP: port (0 picks a free one)', '8765')
    .option('--token-file <file>', `HTTP: file holding the bearer token clients must send (default: $${TOKEN_ENV})`)
    .addOption(new Option('--token <token>').hideHelp())
    .option('--max-sessions <n>', 'HTTP: sessions kept at once; one more closes the one idle longest (503 only when all are busy)', String(DEFAULT_MAX_SESSIONS))
    .option('--session-idle-timeout <seconds>', 'HTTP: close a session after this long without a request', String(DEFAULT_IDLE_TIMEOUT_MS / 1000))
    .option('--allowed-host <name>', 'HTTP: a further Host header to accept, e.g. server.lan (repeatable)', (value: string, all: string[]) => [...all, value], [])
    .option('--standby', 'HTTP: also run the standby passes on their schedule, as `docker-mcp standby run` does (where the server is the one long-running process, e.g. in a container)')
    .action(async (options: ServeOptions, command: Command) => {
      if (options.token !== undefined) refuseCommandLineToken();
      if (options.standby && !options.http) {
        throw new InvalidInputError('--standby', 'true', 'needs --http: a stdio server runs once per client, and each would run the schedule; use docker-mcp standby run beside it');
      }
      const token = options.http ? readToken(options.tokenFile) : undefined;
      // Not inherited by the ssh and docker processes we start.
      delete process.env[TOKEN_ENV];
      const { config } = command.optsWithGlobals<{ config?: string }>();
      const context = new McpContext(config, { readOnly: options.readOnly === true });
      // Fail now on a broken hosts.yml, not on the first tool call (a missing one means no hosts yet).
      const loaded = await context.config();
      if (!loaded.location.exists) log.warn(`${loaded.location.path} does not exist yet: no hosts; adding one creates it`);
      const settings = serveSettings(options, command, loaded.server);
      if (!options.http) {
        const server = createMcpServer(context, VERSION);
        const transport = new StdioServerTransport();
        const closed = new Promise<void>((resolve) => {
          transport.onclose = resolve;
          process.stdin.once('end', resolve);
        });
        await server.connect(transport);
        await closed;
        await context.close();
        return;
      }
      const port = Number(settings.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError('port', settings.port, 'must be an integer from 0 to 65535');
      const maxSessions = Number(settings.maxSessions);
      if (!Number.isInteger(maxSessions) || maxSessions < 1) throw new InvalidInputError('--max-sessions', settings.maxSessions, 'must be a whole number of at least 1');
      const idleSeconds = Number(options.sessionIdleTimeout);
      if (!Number.isFinite(idleSeconds) || idleSeconds <= 0) throw new InvalidInputError('--session-idle-timeout', options.sessionIdleTimeout, 'must be a positive number of seconds');
      const running = await serveHttp(() => createMcpServer(context, VERSION), {
        host: settings.host,
        port,
        token,
        allowedHosts: options.allowedHost,
        maxSessions,
        idleTimeoutMs: idleSeconds * 1000,
        metrics: standbyMetrics(() => standbyStatuses(loaded)),
      });
      process.stderr.write(`docker-mcp MCP server listening on ${running.url}\n`);
      const stopScheduler = new AbortController();
      const scheduler = options.standby
        ? runScheduler(loaded, (hostId) => context.dockerHost(hostId), {
            signal: stopScheduler.signal,
            onPass: (record) => log.info({ host: record.host, stack: record.stack, to: record.to, ok: record.ok, skipped: record.skipped === true, bytes: record.bytes, error: record.error }, 'standby pass'),
          }).catch((error: unknown) => log.error({ error: String(error) }, 'the standby scheduler stopped'))
        : Promise.resolve();
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      stopScheduler.abort();
      await scheduler;
      await running.close();
      await context.close();
    });
}

/**
 * hosts.yml's `server:` section (the Python tool's) gives the defaults that
 * flags do not: host, port and max_connections for --http, and log_level
 * unless LOG_LEVEL or DOCKER_MCP_LOG_LEVEL is set.
 */
function serveSettings(options: ServeOptions, command: Command, server: ServerSection): { host: string; port: string; maxSessions: string } {
  const fromFlag = (name: string) => command.getOptionValueSource(name) === 'cli';
  if (server.log_level !== undefined && !logLevelSetByEnvironment()) {
    const level = logLevelFor(server.log_level);
    if (level) log.level = level;
    else log.warn(`server.log_level ${JSON.stringify(server.log_level)} is not a log level: ignored`);
  }
  return {
    host: !fromFlag('host') && server.host !== undefined ? server.host : options.host,
    port: !fromFlag('port') && server.port !== undefined ? String(server.port) : options.port,
    maxSessions: !fromFlag('maxSessions') && server.max_connections !== undefined ? String(server.max_connections) : options.maxSessions,
  };
}
