/**
 * `docker_container`: containers on a host, with the actions and parameters
 * of the Python docker-mcp's tool of the same name.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { containerAction, containerLogs, inspectContainer, listContainers, removeContainer } from '../../docker/containers.js';
import { describeContainer } from '../../docker/inspect.js';
import { pullImage } from '../../docker/images.js';
import { enabledHosts } from '../../config/load.js';
import { InvalidInputError } from '../../errors.js';
import { forEachHost } from '../../host/fan-out.js';
import { confirmer, type Confirm } from '../confirm.js';
import type { McpContext } from '../context.js';
import { progressReporter, type ToolExtra } from '../progress.js';
import { answer, toolOutputSchema, type ActionResult } from '../tool-result.js';
import type { ToolTable } from '../tool-table.js';
import { allHostsAnswer, logLines, page } from './answers.js';
import { ALL_HOSTS, offeredParameters, absentAs, offeredActions, optional, optionalText, refuseFollow, required } from './params.js';
import { annotationsFor, type ToolVariant } from './variants.js';

const ACTIONS = ['list', 'info', 'start', 'stop', 'restart', 'remove', 'logs', 'pull'] as const;
const READ_ONLY_ACTIONS = ['list', 'info', 'logs'] as const;
/** The parameters the reading actions take: all the reading variant shows. */
const READ_PARAMETERS = ['host_id', 'container_id', 'all_containers', 'limit', 'offset', 'lines', 'follow'] as const;

const inputShape = {
  action: z.enum(ACTIONS).describe('what to do'),
  host_id: optionalText(z.string().max(63)).describe('the host (list: every enabled host when absent or "all")'),
  container_id: optionalText(z.string().max(255)).describe('container name or id (info, start, stop, restart, remove, logs)'),
  image_name: optionalText(z.string().max(512)).describe('pull: the image reference'),
  all_containers: z.boolean().default(false).describe('list: stopped containers too'),
  limit: z.number().int().min(1).max(1000).default(20).describe('list: page size'),
  offset: z.number().int().min(0).default(0).describe('list: rows to skip'),
  lines: z.number().int().min(1).max(10_000).default(100).describe('logs: how many of the last lines (at most the last 4 MiB are returned; truncated: true says the start was cut)'),
  follow: z.boolean().default(false).describe('logs: must be false: a tool call answers once (refused when true)'),
  force: z.boolean().default(false).describe('remove: remove even when running; stop: kill at once (no grace period)'),
  timeout: absentAs(z.number().int().min(0).max(3600).default(10)).describe('stop, restart: seconds to wait for the container to exit before killing it'),
  confirm: optional(z.boolean()).describe('true confirms remove without asking the user'),
};

type Input = z.output<z.ZodObject<typeof inputShape>>;

const outputSchema = toolOutputSchema({
  containers: z.array(z.looseObject({ host_id: z.string(), name: z.string(), state: z.string() })).optional().describe('list: one page of containers, each with its host_id'),
  pagination: z.looseObject({ total: z.number(), limit: z.number(), offset: z.number(), returned: z.number(), has_next: z.boolean(), has_prev: z.boolean() }).optional().describe('list: where this page is'),
  host_errors: z.array(z.looseObject({ host_id: z.string(), kind: z.string(), error: z.string() })).optional().describe('list: hosts that did not answer, and why'),
  container_id: z.string().optional().describe('info, start, stop, restart, logs, remove: the container as asked for (name or id)'),
  name: z.string().optional().describe('info, start, stop, restart: the container\'s name'),
  state: z.string().optional().describe('info, start, stop, restart: running, exited, ...'),
  logs: z.array(z.string()).optional().describe('logs: the last lines, oldest first'),
  truncated: z.boolean().optional().describe('logs: true when only the newest 4 MiB were kept'),
  removed: z.string().optional().describe('remove: the container removed'),
  image: z.string().optional().describe('pull: the image pulled; info: the container\'s image'),
});

export function registerContainerTool(tools: ToolTable, server: McpServer, context: McpContext, variant: ToolVariant): void {
  const { readOnly } = variant;
  tools.add({
    name: variant.name,
    title: 'Docker containers',
    description: readOnly
      ? 'Containers on the configured hosts (reading only: changes nothing). Actions: list (all hosts when host_id is absent; running only unless all_containers; limit/offset), info (state, ports, mounts, networks, labels), logs (lines).'
      : 'Containers on the configured hosts. Actions: list (all hosts when host_id is absent; running only unless all_containers; limit/offset), ' +
        'info (state, ports, mounts, networks, labels), start, stop (timeout; force kills at once), restart (timeout), logs (lines), pull (image_name), remove (confirmed; force for a running one).',
    inputShape: { ...offeredParameters(inputShape, READ_PARAMETERS, readOnly), action: z.enum(offeredActions(ACTIONS, READ_ONLY_ACTIONS, readOnly)).describe('what to do') },
    outputSchema,
    annotations: annotationsFor(readOnly),
    // The reading variant's input has only its parameters; the others are absent, as when not sent.
    run: (parsed, extra) => {
      const input = parsed as Input;
      return answer(input.action, input.host_id, () => runContainerAction(context, input, extra, confirmer(server.server, extra)));
    },
  });
}

async function runContainerAction(context: McpContext, input: Input, extra: ToolExtra, confirm: Confirm): Promise<ActionResult> {
  if (input.action === 'list') return listPage(context, input);
  const target = await context.dockerHost(required(input.host_id, 'host_id', input.action));
  const container = () => required(input.container_id, 'container_id', input.action);
  if (input.force && input.action !== 'remove' && input.action !== 'stop') {
    throw new InvalidInputError('force', 'true', `applies to stop and remove only, not to ${input.action}`);
  }
  switch (input.action) {
    case 'info':
      return { container_id: container(), ...describeContainer(await inspectContainer(target, container())) };
    case 'start':
      return { container_id: container(), ...(await containerAction(target, container(), 'start')) };
    case 'stop':
    case 'restart': {
      // The Python tool's force on stop is `docker kill`: stop without a grace period is the same signal.
      const seconds = input.force ? 0 : input.timeout;
      return { container_id: container(), ...(await containerAction(target, container(), input.action, { stopTimeoutSeconds: seconds })) };
    }
    case 'remove':
      await confirm(input.confirm, { effect: `removing container ${container()} on ${target.host.id} cannot be undone` });
      return { container_id: container(), ...(await removeContainer(target, container(), { confirmed: true, force: input.force, forceWord: 'force: true' })) };
    case 'logs': {
      refuseFollow(input.follow);
      const { logs, ...rest } = await containerLogs(target, container(), { tail: input.lines });
      return { container_id: container(), logs: logLines(logs), ...rest };
    }
    case 'pull': {
      const progress = progressReporter(extra);
      const image = required(input.image_name, 'image_name', 'pull');
      progress.step(`pulling ${image} on ${target.host.id}`);
      const pulled = await pullImage(target, image, { signal: extra.signal });
      progress.step(`pulled ${image}`);
      return pulled;
    }
  }
}

async function listPage(context: McpContext, input: Input): Promise<ActionResult> {
  const config = await context.config();
  const hosts = input.host_id === undefined || input.host_id === ALL_HOSTS ? enabledHosts(config) : [(await context.dockerHost(input.host_id)).host];
  // A row says which container it is and how it is; where its files and data are is for info.
  const rows = await forEachHost(hosts, async (host) =>
    (await listContainers(context.attach(host), { running: !input.all_containers })).map(({ projectDir: _dir, configFiles: _files, mounts: _mounts, ...row }) => row),
  );
  const { items, host_errors } = allHostsAnswer(rows);
  return { ...page('containers', items, input), host_errors };
}
