import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { McpContext } from '../../mcp/context.js';
import { serveHttp } from '../../mcp/http.js';
import { createMcpServer } from '../../mcp/server.js';
import { VERSION } from '../../version.js';

interface ServeOptions {
  http?: boolean;
  host: string;
  port: string;
  token?: string;
  allowedHost: string[];
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the MCP server: over stdio (default) or Streamable HTTP (--http, on 127.0.0.1 unless --host says otherwise)')
    .option('--http', 'serve Streamable HTTP instead of stdio')
    .option('--host <address>', 'HTTP: address to bind; off loopback a token is required', '127.0.0.1')
    .option('--port <port>', 'HTTP: port (0 picks a free one)', '8765')
    .option('--token <token>', 'HTTP: bearer token clients must send (default: $DOCKER_MCP_TOKEN)')
    .option('--allowed-host <name>', 'HTTP: a further Host header to accept, e.g. server.lan (repeatable)', (value: string, all: string[]) => [...all, value], [])
    .action(async (options: ServeOptions, command: Command) => {
      const { config } = command.optsWithGlobals<{ config?: string }>();
      const context = new McpContext(config);
      // Fail now on a missing or broken hosts.yml, not on the first tool call.
      await context.config();
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
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError('port', options.port, 'must be an integer from 0 to 65535');
      const running = await serveHttp(() => createMcpServer(context, VERSION), {
        host: options.host,
        port,
        token: options.token ?? process.env.DOCKER_MCP_TOKEN,
        allowedHosts: options.allowedHost,
      });
      process.stderr.write(`docker-mcp MCP server listening on ${running.url}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await running.close();
      await context.close();
    });
}
