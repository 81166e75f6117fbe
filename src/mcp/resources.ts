/**
 * Read-only views of each host, as the Python docker-mcp offered them:
 * `stacks://{host_id}`, `containers://{host_id}`, `docker://{host_id}/info`,
 * `ports://{host_id}`, `stacks://{host_id}/{stack_name}` and
 * `containers://{host_id}/{container_id}`; `host_id`, `stack_name` and
 * `container_id` complete.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { enabledHosts } from '../config/load.js';
import { inspectContainer, listContainers } from '../docker/containers.js';
import type { DockerHost } from '../docker/docker-host.js';
import { dockerInfo } from '../docker/info.js';
import { publishedPorts } from '../docker/ports.js';
import { listStacks, stackContainers, viewStack } from '../docker/stacks.js';
import { describeError } from '../errors.js';
import { log } from '../log.js';
import type { McpContext } from './context.js';

type Variables = Readonly<Record<string, string>>;

interface HostResource {
  readonly name: string;
  readonly template: string;
  readonly description: string;
  /** For the resources of every host (resources/list); absent where listing would probe every host. */
  readonly uri?: (hostId: string) => string;
  readonly read: (target: DockerHost, variables: Variables) => Promise<unknown>;
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
    description: 'Every container on the host, running or not',
    read: (target) => listContainers(target),
  },
  {
    name: 'docker-info',
    template: 'docker://{host_id}/info',
    uri: (hostId) => `docker://${hostId}/info`,
    description: "The host's `docker info`",
    read: dockerInfo,
  },
  {
    name: 'ports',
    template: 'ports://{host_id}',
    uri: (hostId) => `ports://${hostId}`,
    description: 'Host ports published by running containers, with the container and stack of each',
    read: async (target) => ({ ports: await publishedPorts(target) }),
  },
  {
    name: 'stack',
    template: 'stacks://{host_id}/{stack_name}',
    description: "One stack: its compose file as stored and its containers",
    read: async (target, { stack_name }) => {
      const stack = String(stack_name);
      return { stack, ...(await viewStack(target, stack)), containers: await stackContainers(target, stack) };
    },
  },
  {
    name: 'container',
    template: 'containers://{host_id}/{container_id}',
    description: 'One container: its `docker inspect`',
    read: (target, { container_id }) => inspectContainer(target, String(container_id)),
  },
];

export function registerHostResources(server: McpServer, context: McpContext): void {
  const complete = completions(context);
  for (const resource of HOST_RESOURCES) {
    const { uri } = resource;
    const variables = [...resource.template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
    const template = new ResourceTemplate(resource.template, {
      list: uri
        ? async () => ({
            resources: enabledHosts(await context.config()).map((host) => ({
              uri: uri(host.id),
              name: `${resource.name} of ${host.id}`,
              mimeType: 'application/json',
            })),
          })
        : undefined,
      complete: Object.fromEntries(variables.map((name) => [name, complete[name]]).filter(([, fn]) => fn !== undefined)),
    });
    server.registerResource(resource.name, template, { description: resource.description, mimeType: 'application/json' }, async (url, values): Promise<ReadResourceResult> => {
      const value = await resource.read(await context.dockerHost(String(values.host_id)), values as Variables);
      return { contents: [{ uri: url.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
    });
  }
}

type Completer = (value: string, context?: { arguments?: Record<string, string> }) => Promise<string[]>;

const MAX_COMPLETIONS = 100;

/** Completions never fail: a host that does not answer just offers nothing. */
function completions(context: McpContext): Record<string, Completer> {
  const startingWith = (value: string, names: readonly string[]) => names.filter((name) => name.startsWith(value)).slice(0, MAX_COMPLETIONS);
  const onHost = async (hostId: string | undefined, read: (target: DockerHost) => Promise<string[]>): Promise<string[]> => {
    if (!hostId) return [];
    try {
      return await read(await context.dockerHost(hostId));
    } catch (error) {
      log.debug(`no completions from ${hostId}: ${describeError(error)}`);
      return [];
    }
  };
  return {
    host_id: async (value) => startingWith(value, enabledHosts(await context.config()).map((host) => host.id)),
    stack_name: async (value, ctx) => startingWith(value, await onHost(ctx?.arguments?.host_id, async (target) => (await listStacks(target)).map((s) => s.name))),
    container_id: async (value, ctx) => startingWith(value, await onHost(ctx?.arguments?.host_id, async (target) => (await listContainers(target)).map((c) => c.name))),
  };
}
