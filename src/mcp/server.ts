/**
 * The MCP server: the Python tool's three tools, docker_standby, and the host resources, over whichever
 * transport `serve` chose. Tools are thin: they validate, call the engine
 * and return its typed results.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { log, onWarning } from '../log.js';
import { appendAudit } from './audit.js';
import type { McpContext } from './context.js';
import { registerPrompts } from './prompts.js';
import { registerHostResources } from './resources.js';
import { registerComposeTool } from './tools/compose-tool.js';
import { registerContainerTool } from './tools/container-tool.js';
import { registerHostsTool } from './tools/hosts-tool.js';
import { registerStandbyTool } from './tools/standby-tool.js';
import { ToolTable } from './tool-table.js';
import { variantsOf } from './tools/variants.js';

export const SERVER_NAME = 'docker-mcp';

export function createMcpServer(context: McpContext, version: string): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version },
    {
      capabilities: { logging: {} },
      instructions: context.readOnly
        ? 'Read-only: look at Docker Compose stacks, containers and hosts of hosts.yml over SSH; nothing can be changed through this server.'
        : 'Manage Docker Compose stacks on the hosts of hosts.yml over SSH, and migrate a stack with its data between hosts. ' +
          'To only look, use the _read tools (docker_hosts_read, docker_container_read, docker_compose_read, docker_standby_read): they change nothing. ' +
          'Destructive actions are confirmed by the user when the client supports elicitation, else need confirm: true; try migrate with dry_run first.',
    },
  );
  const tools = new ToolTable(server, (record) => appendAudit(record));
  for (const variant of variantsOf('docker_hosts', context.readOnly)) registerHostsTool(tools, server, context, variant);
  for (const variant of variantsOf('docker_container', context.readOnly)) registerContainerTool(tools, server, context, variant);
  for (const variant of variantsOf('docker_compose', context.readOnly)) registerComposeTool(tools, server, context, variant);
  for (const variant of variantsOf('docker_standby', context.readOnly)) registerStandbyTool(tools, server, context, variant);
  tools.serve();
  registerHostResources(server, context);
  registerPrompts(server, context.readOnly);
  relayToClient(server, context);
  return server;
}

/** Hosts added or removed (by any session) and warnings logged while it is connected reach the client. */
function relayToClient(server: McpServer, context: McpContext): void {
  const quietly = (sent: Promise<void>) => sent.catch((error: unknown) => log.debug({ error }, 'notification not sent'));
  const stops = [
    context.onHostsChanged(() => {
      if (server.isConnected()) server.sendResourceListChanged();
    }),
    onWarning((level, message) => {
      if (server.isConnected()) quietly(server.sendLoggingMessage({ level, logger: SERVER_NAME, data: message }));
    }),
  ];
  const previous = server.server.onclose;
  server.server.onclose = () => {
    for (const stop of stops) stop();
    previous?.();
  };
}
