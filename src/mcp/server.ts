/**
 * The MCP server: the three tools and the host resources, over whichever
 * transport `serve` chose. Tools are thin: they validate, call the engine
 * and return its typed results.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpContext } from './context.js';
import { registerHostResources } from './resources.js';
import { registerComposeTool } from './tools/compose-tool.js';
import { registerContainerTool } from './tools/container-tool.js';
import { registerHostsTool } from './tools/hosts-tool.js';

export const SERVER_NAME = 'docker-mcp';

export function createMcpServer(context: McpContext, version: string): McpServer {
  const server = new McpServer(
    { name: SERVER_NAME, version },
    {
      instructions:
        'Manage Docker Compose stacks on the hosts of hosts.yml over SSH, and migrate a stack with its data between hosts. ' +
        'Destructive actions need confirm: true; try migrate with dry_run first.',
    },
  );
  registerHostsTool(server, context);
  registerContainerTool(server, context);
  registerComposeTool(server, context);
  registerHostResources(server, context);
  return server;
}
