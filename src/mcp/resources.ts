/**
 * Read-only views of each host, as the Python docker-mcp offered them:
 * `stacks://{host_id}`, `containers://{host_id}`, `docker://{host_id}/info`.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { enabledHosts } from '../config/load.js';
import { listContainers } from '../docker/containers.js';
import type { DockerHost } from '../docker/docker-host.js';
import { dockerInfo } from '../docker/info.js';
import { listStacks } from '../docker/stacks.js';
import type { McpContext } from './context.js';

interface HostResource {
  readonly name: string;
  readonly uri: (hostId: string) => string;
  readonly template: string;
  readonly description: string;
  readonly read: (target: DockerHost) => Promise<unknown>;
}

const HOST_RESOURCES: readonly HostResource[] = [
  {
    name: 'stacks',
    template: 'stacks://{host_id}',
    uri: (hostId) => `stacks://${hostId}`,
    description: "The host's compose stacks: from the engine's labels and its compose_path folders",
    read: listStacks,
  },
  {
    name: 'containers',
    template: 'containers://{host_id}',
    uri: (hostId) => `containers://${hostId}`,
    description: "Every container on the host, running or not",
    read: (target) => listContainers(target),
  },
  {
    name: 'docker-info',
    template: 'docker://{host_id}/info',
    uri: (hostId) => `docker://${hostId}/info`,
    description: "The host's `docker info`",
    read: dockerInfo,
  },
];

export function registerHostResources(server: McpServer, context: McpContext): void {
  for (const resource of HOST_RESOURCES) {
    const template = new ResourceTemplate(resource.template, {
      list: async () => ({
        resources: enabledHosts(await context.config()).map((host) => ({
          uri: resource.uri(host.id),
          name: `${resource.name} of ${host.id}`,
          mimeType: 'application/json',
        })),
      }),
    });
    server.registerResource(resource.name, template, { description: resource.description, mimeType: 'application/json' }, async (uri, variables): Promise<ReadResourceResult> => {
      const hostId = String(variables.host_id);
      const value = await resource.read(await context.dockerHost(hostId));
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
    });
  }
}
