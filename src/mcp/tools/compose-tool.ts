/**
 * `docker_compose`: compose stacks on a host and their migration between
 * hosts, with the actions and parameters of the Python docker-mcp's tool of
 * the same name, plus `cold` and `resume`.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { enabledHosts, findHost } from '../../config/load.js';
import { ConfirmationRequiredError } from '../../docker/errors.js';
import { deployStack, discoverStacks, listStacks, stackAction, stackContainers, viewStack } from '../../docker/stacks.js';
import { InvalidInputError } from '../../errors.js';
import { forEachHost } from '../../host/fan-out.js';
import { migrateStack, planStackMigration } from '../../migration/execute.js';
import { resumeMigration } from '../../migration/resume.js';
import type { McpContext } from '../context.js';
import { progressReporter, type ToolExtra } from '../progress.js';
import { answer, toolOutputShape } from '../tool-result.js';
import { required } from './params.js';

const ACTIONS = ['list', 'view', 'deploy', 'up', 'down', 'restart', 'build', 'pull', 'ps', 'discover', 'logs', 'migrate'] as const;

const inputShape = {
  action: z.enum(ACTIONS),
  host_id: z.string().max(63).optional().describe('the host (list: every enabled host when absent; migrate: the source)'),
  stack_name: z
    .string()
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit')
    .optional()
    .describe('the stack (compose project)'),
  compose_content: z.string().max(1_048_576).optional().describe('deploy: the compose file'),
  environment: z.record(z.string(), z.string().max(65_536)).optional().describe("deploy: variables written to the stack's .env"),
  pull_images: z.boolean().default(false).describe('deploy: pull images before starting'),
  recreate: z.boolean().default(false).describe('deploy: recreate containers even if unchanged'),
  lines: z.number().int().min(1).max(10_000).default(100).describe('logs: how many of the last lines per service'),
  dry_run: z.boolean().default(false).describe('migrate: only plan, change nothing'),
  target_host_id: z.string().max(63).optional().describe('migrate: the host to move the stack to'),
  remove_source: z.boolean().default(false).describe('migrate: remove the stack and its data from the source after a verified migration'),
  skip_stop_source: z.boolean().default(false).describe('migrate: not supported (the final copy is made while the stack is stopped)'),
  start_target: z.boolean().default(true).describe('migrate: must be true (a migration is verified by starting the stack on the target)'),
  cold: z.boolean().default(false).describe('migrate: stop first, then copy (default: seed while running, stop, send the difference)'),
  resume: z.string().max(200).optional().describe('migrate: the id of an interrupted migration to finish or roll back (other migrate parameters are then not needed)'),
  keep_failed: z.boolean().default(false).describe('migrate: on failure, keep the data received on the target (default: remove what the migration created there)'),
  confirm: z.boolean().optional().describe('must be true for down, and for migrate unless dry_run'),
};

type Input = z.infer<z.ZodObject<typeof inputShape>>;

export function registerComposeTool(server: McpServer, context: McpContext): void {
  server.registerTool(
    'docker_compose',
    {
      title: 'Docker Compose stacks',
      description:
        'Compose stacks on the configured hosts. Actions: list, view (the compose file), deploy (compose_content validated by compose first; environment, pull_images, recreate), ' +
        'up, down (needs confirm), restart, build, pull, ps, logs (lines), discover (which data paths each stack uses), ' +
        'migrate (move the stack with all its data from host_id to target_host_id: ZFS send/receive per service or rsync, verified, rolled back on failure; ' +
        'dry_run shows the plan; needs confirm otherwise; sends progress notifications).',
      inputSchema: inputShape,
      outputSchema: toolOutputShape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    (input, extra) => answer(input.action, input.host_id, () => runComposeAction(context, input, extra)),
  );
}

async function runComposeAction(context: McpContext, input: Input, extra: ToolExtra): Promise<unknown> {
  if (input.action === 'list' && input.host_id === undefined) {
    const config = await context.config();
    return forEachHost(enabledHosts(config), (host) => listStacks(context.attach(host)));
  }
  if (input.action === 'migrate') return migrate(context, input, extra);
  const target = await context.dockerHost(required(input.host_id, 'host_id'));
  const stack = () => required(input.stack_name, 'stack_name');
  const progress = progressReporter(extra);
  switch (input.action) {
    case 'list':
      return listStacks(target);
    case 'view':
      return viewStack(target, stack());
    case 'deploy': {
      progress.step(`deploying ${stack()} on ${target.host.id}`);
      const deployed = await deployStack(target, stack(), required(input.compose_content, 'compose_content'), {
        ...(input.environment ? { environment: input.environment } : {}),
        pullImages: input.pull_images,
        recreate: input.recreate,
        signal: extra.signal,
      });
      progress.step(`${stack()} deployed`);
      return deployed;
    }
    case 'down':
      if (input.confirm !== true) throw new ConfirmationRequiredError(`down stops and removes the containers of ${stack()} on ${target.host.id}: repeat with confirm: true`);
      return stackAction(target, stack(), 'down', { signal: extra.signal });
    case 'up':
    case 'restart':
    case 'build':
    case 'pull': {
      progress.step(`${input.action} ${stack()} on ${target.host.id}`);
      const done = await stackAction(target, stack(), input.action, { signal: extra.signal });
      progress.step(`${input.action} ${stack()} done`);
      return done;
    }
    case 'logs':
      return stackAction(target, stack(), 'logs', { tail: input.lines });
    case 'ps':
      return stackContainers(target, stack());
    case 'discover':
      return discoverStacks(target, input.stack_name);
  }
}

async function migrate(context: McpContext, input: Input, extra: ToolExtra): Promise<unknown> {
  if (input.skip_stop_source) {
    throw new InvalidInputError('skip_stop_source', 'true', 'is not supported: the final copy is made while the stack is stopped, so the data is consistent (the seed already runs while it works)');
  }
  if (!input.start_target) {
    throw new InvalidInputError('start_target', 'false', 'is not supported: a migration is verified by starting the stack on the target, and rolled back if it does not run');
  }
  const progress = progressReporter(extra);
  const run = { onProgress: progress.listener, signal: extra.signal };
  if (input.resume !== undefined) {
    if (input.confirm !== true) throw new ConfirmationRequiredError(`resuming migration ${input.resume} finishes it or rolls it back on both hosts: repeat with confirm: true`);
    const config = await context.config();
    return resumeMigration(input.resume, (hostId) => context.attach(findHost(config, hostId)), run);
  }
  const source = await context.dockerHost(required(input.host_id, 'host_id'));
  const target = await context.dockerHost(required(input.target_host_id, 'target_host_id'));
  const stack = required(input.stack_name, 'stack_name');
  if (input.dry_run) return planStackMigration(source, target, stack, { cold: input.cold });
  if (input.confirm !== true) {
    throw new ConfirmationRequiredError(
      `migrating ${stack} stops it on ${source.host.id} and starts it on ${target.host.id}${input.remove_source ? `, then deletes its folder and data on ${source.host.id}` : ''}: ` +
        'run with dry_run to see the plan, then repeat with confirm: true',
    );
  }
  return migrateStack(source, target, stack, { ...run, cold: input.cold, keepFailed: input.keep_failed, removeSource: input.remove_source, yes: input.remove_source });
}
