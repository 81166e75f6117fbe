/**
 * Read-only views of each host, as the Python docker-mcp offered them:
 * `stacks://{host_id}`, `containers://{host_id}`, `docker://{host_id}/info`,
 * `ports://{host_id}`, `stacks://{host_id}/{stack_name}` and
 * `containers://{host_id}/{container_id}`; `host_id`, `stack_name` and
 * `container_id` complete. Answers are compact JSON with snake_case field
 * names, as the tools'. A host, stack or container that is not there is
 * "resource not found" (-32002); `containers://{host_id}` takes the query
 * parameters the Python tool documented (all, limit, offset) and
 * `ports://{host_id}` its include_stopped; any other is refused by name.
 */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { enabledHosts } from '../config/load.js';
import { inspectContainer, listContainers } from '../docker/containers.js';
import type { DockerHost } from '../docker/docker-host.js';
import { dockerInfo } from '../docker/info.js';
import { publishedPorts } from '../docker/ports.js';
import { listStacks, stackContainers, viewStack } from '../docker/stacks.js';
import { UnknownContainerError, UnknownStackError } from '../docker/errors.js';
import { UnknownHostError, describeError } from '../errors.js';
import { log } from '../log.js';
import type { McpContext } from './context.js';
import { page } from './tools/answers.js';
import { toWire, wireText } from './wire.js';

type Variables = Readonly<Record<string, string>>;
type Query = Readonly<Record<string, string>>;

/** The JSON-RPC error of a resource that is not there (MCP's "resource not found"). */
export const RESOURCE_NOT_FOUND = -32002;

interface HostResource {
  readonly name: string;
  readonly template: string;
  readonly description: string;
  /** For the resources of every host (resources/list); absent where listing would probe every host. */
  readonly uri?: (hostId: string) => string;
  /** Query parameters taken (`?all=true&limit=5`); any other is refused. */
  readonly query?: readonly string[];
  readonly read: (target: DockerHost, variables: Variables, query: Query) => Promise<unknown>;
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
    description: 'The containers on the host: running ones, every one with ?all=true; pages of ?limit= (default 20) from ?offset=',
    query: ['all', 'limit', 'offset'],
    read: async (target, _variables, query) =>
      page('containers', await listContainers(target, { running: !flag(query, 'all') }), { limit: count(query, 'limit', 20, 1), offset: count(query, 'offset', 0, 0) }),
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
    description: 'Host ports published by running containers, with the container and stack of each (include_stopped is taken for the Python tool\'s clients: a stopped container publishes nothing)',
    query: ['include_stopped'],
    read: async (target, _variables, query) => {
      flag(query, 'include_stopped');
      return { port_mappings: await publishedPorts(target) };
    },
  },
  {
    name: 'stack',
    template: 'stacks://{host_id}/{stack_name}',
    description: "One stack: its compose file as stored and its containers",
    read: async (target, { stack_name }) => {
      const stack = String(stack_name);
      return { stack_name: stack, ...(await viewStack(target, stack)), containers: await stackContainers(target, stack) };
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
      // The template's last variable takes the query along with it: what was named is before the "?".
      const named = Object.fromEntries(Object.entries(values).map(([name, value]) => [name, String(value).split('?')[0] as string]));
      const query = queryOf(url, resource);
      try {
        const value = await resource.read(await context.dockerHost(named.host_id as string), named, query);
        return { contents: [{ uri: url.href, mimeType: 'application/json', text: wireText(toWire(value)) }] };
      } catch (error) {
        if (error instanceof UnknownHostError || error instanceof UnknownStackError || error instanceof UnknownContainerError) {
          throw new McpError(RESOURCE_NOT_FOUND, `resource not found: ${url.href}: ${describeError(error)}`, { uri: url.href });
        }
        throw error;
      }
    });
  }
}

/** The URL's query, each parameter one the resource takes. */
function queryOf(url: URL, resource: HostResource): Query {
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(url.search)) {
    if (!resource.query?.includes(name)) {
      const takes = resource.query ? `it takes ${resource.query.join(', ')}` : 'it takes none';
      throw new McpError(ErrorCode.InvalidParams, `unknown query parameter ${JSON.stringify(name)} for ${resource.template}: ${takes}`);
    }
    query[name] = value;
  }
  return query;
}

function flag(query: Query, name: string): boolean {
  const value = query[name];
  if (value === undefined || ['', 'false', '0', 'no', 'off'].includes(value.toLowerCase())) return false;
  if (['true', '1', 'yes', 'on'].includes(value.toLowerCase())) return true;
  throw new McpError(ErrorCode.InvalidParams, `query parameter ${name}=${JSON.stringify(value)}: must be true or false`);
}

function count(query: Query, name: string, fallback: number, minimum: number): number {
  const value = query[name];
  if (value === undefined) return fallback;
  if (!/^\d{1,6}$/.test(value) || Number(value) < minimum) throw new McpError(ErrorCode.InvalidParams, `query parameter ${name}=${JSON.stringify(value)}: must be a whole number of at least ${minimum}`);
  return Number(value);
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
