/**
 * `docker_container`: containers on a host, with the actions and parameters
 * of the Python docker-mcp's tool of the same name.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { containerAction, containerLogs, inspectContainer, listContainers, removeContainer } from '../../docker/containers.js';
import { ConfirmationRequiredError } from '../../docker/errors.js';
import { pullImage } from '../../docker/images.js';
import { enabledHosts } from '../../config/load.js';
import { forEachHost } from '../../host/fan-out.js';
import type { McpContext } from '../context.js';
import { progressReporter, type ToolExtra } from '../progress.js';
import { answer, toolOutputShape } from '../tool-result.js';
import { required } from './params.js';

const ACTIONS = ['list', 'info', 'start', 'stop', 'restart', 'remove', 'logs', 'pull'] as const;

const inputShape = {
  action: z.enum(ACTIONS),
  host_id: z.string().max(63).optional().describe('the host (list: every enabled host when absent)'),
  container_id: z.string().max(255).optional().describe('container name or id (info, start, stop, restart, remove, logs)'),
  image_name: z.string().max(512).optional().describe('pull: the image reference'),
  all_containers: z.boolean().default(false).describe('list: stopped containers too'),
  limit: z.number().int().min(1).max(1000).default(20).describe('list: page size'),
  offset: z.number().int().min(0).default(0).describe('list: rows to skip'),
  lines: z.number().int().min(1).max(10_000).default(100).describe('logs: how many of the last lines'),
  force: z.boolean().default(false).describe('remove: remove even when running'),
  timeout: z.number().int().min(0).max(3600).optional().describe('stop, restart: seconds to wait before killing'),
  confirm: z.boolean().optional().describe('must be true for remove'),
};

type Input = z.infer<z.ZodObject<typeof inputShape>>;

export function registerContainerTool(server: McpServer, context: McpContext): void {
  server.registerTool(
    'docker_container',
    {
      title: 'Docker containers',
      description:
        'Containers on the configured hosts. Actions: list (all hosts when host_id is absent; running only unless all_containers; limit/offset), ' +
        'info (docker inspect), start, stop, restart (timeout), logs (lines), pull (image_name), remove (needs confirm; force for a running one).',
      inputSchema: inputShape,
      outputSchema: toolOutputShape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    (input, extra) => answer(input.action, input.host_id, () => runContainerAction(context, input, extra)),
  );
}

async function runContainerAction(context: McpContext, input: Input, extra: ToolExtra): Promise<unknown> {
  if (input.action === 'list') return listPage(context, input);
  const target = await context.dockerHost(required(input.host_id, 'host_id'));
  const container = () => required(input.container_id, 'container_id');
  switch (input.action) {
    case 'info':
      return inspectContainer(target, container());
    case 'start':
    case 'stop':
    case 'restart':
      return containerAction(target, container(), input.action, input.timeout === undefined ? {} : { stopTimeoutSeconds: input.timeout });
    case 'remove':
      if (input.confirm !== true) throw new ConfirmationRequiredError(`removing container ${container()} on ${target.host.id} cannot be undone: repeat with confirm: true`);
      return removeContainer(target, container(), { confirmed: true, force: input.force });
    case 'logs':
      return { container: container(), logs: await containerLogs(target, container(), { tail: input.lines }) };
    case 'pull': {
      const progress = progressReporter(extra);
      const image = required(input.image_name, 'image_name');
      progress.step(`pulling ${image} on ${target.host.id}`);
      const pulled = await pullImage(target, image, { signal: extra.signal });
      progress.step(`pulled ${image}`);
      return pulled;
    }
  }
}

async function listPage(context: McpContext, input: Input) {
  const config = await context.config();
  const hosts = input.host_id === undefined ? enabledHosts(config) : [(await context.dockerHost(input.host_id)).host];
  const rows = await forEachHost(hosts, (host) => listContainers(context.attach(host), { running: !input.all_containers }));
  const all = rows.flatMap((row) => (row.ok ? row.value.map((c) => ({ host_id: row.hostId, ...c })) : []));
  return {
    containers: all.slice(input.offset, input.offset + input.limit),
    total: all.length,
    limit: input.limit,
    offset: input.offset,
    host_errors: rows.flatMap((row) => (row.ok ? [] : [{ host_id: row.hostId, ...row.error }])),
  };
}
