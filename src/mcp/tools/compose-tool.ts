/**
 * `docker_compose`: compose stacks on a host and their migration between
 * hosts, with the actions and parameters of the Python docker-mcp's tool of
 * the same name, plus `cold` and `resume`.
 */
import path from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { enabledHosts, findHost } from '../../config/load.js';
import { discoverStacks } from '../../docker/stack-source.js';
import { deployQuestion } from '../../docker/deploy-review.js';
import { failedOverByHost, fenceState, refuseStartOnStandby, settleStandbyAfterMove, standbyCopiesByHost, type FailedOverStack, type StandbyCopy } from '../../standby/copies.js';
import { noteDeployedStack, noteListing } from '../../standby/seen-stacks.js';
import { standbyStagingOf } from '../../standby/staging.js';
import { deployStack, listStacks, previewDeploy, stackAction, stackContainers, viewStack, type StackSummary } from '../../docker/stacks.js';
import { InvalidInputError } from '../../errors.js';
import { forEachHost } from '../../host/fan-out.js';
import { dryRunStackMigration, migrateStack } from '../../migration/execute.js';
import { TooManyMigrationsError, migrationSlots } from '../../migration/migration-slots.js';
import { resumeMigration } from '../../migration/resume.js';
import { parseBwlimit } from '../../transfer/bwlimit.js';
import { confirmer, type Confirm } from '../confirm.js';
import type { McpContext } from '../context.js';
import { progressReporter, type ToolExtra } from '../progress.js';
import { answer, toolOutputSchema, type ActionResult } from '../tool-result.js';
import type { ToolTable } from '../tool-table.js';
import { allHostsAnswer, logLines, page } from './answers.js';
import { composeArguments } from './compose-options.js';
import { ALL_HOSTS, offeredParameters, offeredActions, optional, optionalText, refuseFollow, required } from './params.js';
import { annotationsFor, type ToolVariant } from './variants.js';

const ACTIONS = ['list', 'view', 'deploy', 'up', 'down', 'restart', 'build', 'pull', 'ps', 'discover', 'logs', 'migrate'] as const;
const READ_ONLY_ACTIONS = ['list', 'view', 'ps', 'discover', 'logs'] as const;
/** The parameters the reading actions take: all the reading variant shows. */
const READ_PARAMETERS = ['host_id', 'stack_name', 'options', 'limit', 'offset', 'lines', 'follow'] as const;

const inputShape = {
  action: z.enum(ACTIONS).describe('what to do'),
  host_id: optionalText(z.string().max(63)).describe('the host (list: every enabled host when absent or "all"; migrate: the source)'),
  stack_name: optionalText(
    z
      .string()
      .max(63)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS label: lowercase letters, digits and "-", starting and ending with a letter or digit'),
  ).describe('the stack (compose project)'),
  compose_content: optionalText(z.string().max(1_048_576)).describe('deploy: the compose file'),
  environment: optional(z.record(z.string(), z.string().max(65_536))).describe("deploy: variables written to the stack's .env"),
  pull_images: z.boolean().default(false).describe('deploy: pull images before starting'),
  recreate: z.boolean().default(false).describe('deploy: recreate containers even if unchanged'),
  options: optional(z.record(z.string().max(64), z.union([z.string().max(1024), z.boolean(), z.number()]))).describe(
    'up: force_recreate, build, pull, pull_policy; down: volumes, remove_orphans; restart: timeout; pull: ignore_pull_failures; build: no_cache, pull; ' +
      'up, down, restart, pull, build, ps: services (comma-separated). Values "true"/"false". Any other key is refused.',
  ),
  limit: z.number().int().min(1).max(1000).default(100).describe('list, discover: page size'),
  offset: z.number().int().min(0).default(0).describe('list, discover: stacks to skip'),
  lines: z.number().int().min(1).max(10_000).default(100).describe('logs: how many of the last lines per service (at most the last 4 MiB are returned; truncated: true says the start was cut)'),
  follow: z.boolean().default(false).describe('logs: must be false: a tool call answers once (refused when true)'),
  dry_run: z.boolean().default(false).describe('migrate: only plan; deploy: say what it would write and ask; both change nothing'),
  target_host_id: optionalText(z.string().max(63)).describe('migrate: the host to move the stack to'),
  remove_source: z.boolean().default(false).describe('migrate: remove the stack and its data from the source after a verified migration'),
  skip_stop_source: z.boolean().default(false).describe('migrate: not supported (the final copy is made while the stack is stopped)'),
  start_target: z.boolean().default(true).describe('migrate: must be true (a migration is verified by starting the stack on the target)'),
  cold: z.boolean().default(false).describe('migrate: stop first, then copy (default: seed while running, stop, send the difference)'),
  resume: optionalText(z.string().max(200)).describe('migrate: the id of an interrupted migration to finish or roll back (other migrate parameters are then not needed)'),
  force: z.boolean().default(false).describe('migrate: go past the pre-flight refusals that are safe to override (mounts that would not move: their data stays on the source); each refusal says what force would do'),
  keep_failed: z.boolean().default(false).describe('migrate: on failure, keep the data received on the target (default: remove what the migration created there)'),
  bwlimit: optionalText(z.string().max(32)).describe('migrate: limit every transfer to this many bytes a second, e.g. "500K", "50M", "1G" (K, M, G: powers of 1024); default no limit'),
  confirm: optional(z.boolean()).describe(
    'true confirms down, migrate (unless dry_run) and a deploy that replaces a stack or reaches outside its data, only when the client cannot ask its user (elicitation); a client that can is always asked',
  ),
};

type Input = z.output<z.ZodObject<typeof inputShape>>;

const stackRowSchema = z.looseObject({ name: z.string(), running: z.number() });
const outputSchema = toolOutputSchema({
  stacks: z.array(stackRowSchema).optional().describe('list: one page of stacks (each with host_id when every host was asked); discover: what data each stack uses'),
  pagination: z.looseObject({ total: z.number(), limit: z.number(), offset: z.number(), returned: z.number(), has_next: z.boolean(), has_prev: z.boolean() }).optional().describe('list, discover: where this page is'),
  standby_copies: z
    .array(z.looseObject({ host_id: z.string(), stack_name: z.string(), standby_of: z.string(), confirmed_snapshot: z.string().optional(), confirmed_at: z.string().optional() }))
    .optional()
    .describe('list: copies a host keeps of other hosts\' stacks (standby.yml), not stacks: read-only and unmounted until a migrate; deploy, up and restart of them there are refused'),
  failed_over: z
    .array(z.looseObject({ host_id: z.string(), stack_name: z.string(), runs_on: z.string(), since: z.string(), state: z.string() }))
    .optional()
    .describe("list: stacks failed over away from a host: they run on their standby; the host's copy stays stopped and read-only (fenced; DIVERGED when it wrote after the failover's snapshot) until a failback"),
  host_errors: z.array(z.looseObject({ host_id: z.string(), kind: z.string(), error: z.string() })).optional().describe('list of every host: hosts that did not answer, and why'),
  stack_name: z.string().optional().describe('the stack acted on'),
  content: z.string().optional().describe('view: the compose file as stored'),
  containers: z.array(z.looseObject({ name: z.string(), state: z.string() })).optional().describe('ps: the stack\'s containers'),
  logs: z.array(z.string()).optional().describe('logs: the last lines of every service, oldest first'),
  output: z.string().optional().describe('deploy, up, down, restart, build, pull: what compose printed'),
  compose_file: z.string().optional().describe('deploy: the file written'),
  steps: z.array(z.unknown()).optional().describe('migrate with dry_run: the plan, step by step'),
});

export function registerComposeTool(tools: ToolTable, server: McpServer, context: McpContext, variant: ToolVariant): void {
  const { readOnly } = variant;
  tools.add({
    name: variant.name,
    title: 'Docker Compose stacks',
    description: readOnly
      ? 'Compose stacks on the configured hosts (reading only: changes nothing). Actions: list (limit/offset), view (the compose file), ps, logs (lines), discover (which data paths each stack uses; limit/offset).'
      : 'Compose stacks on the configured hosts. Actions: list (limit/offset), view (the compose file), deploy (compose_content validated by compose first; environment, pull_images, recreate; ' +
        "confirmed when it replaces a stack, whose old files are kept as .bak, or reaches outside the stack's data; dry_run shows what it would ask), " +
        'up, down (confirmed), restart, build, pull, ps, logs (lines), discover (which data paths each stack uses; limit/offset); options names compose flags; ' +
        'migrate (move the stack with all its data from host_id to target_host_id: ZFS send/receive per service or rsync, verified, rolled back on failure; ' +
        'dry_run shows the plan; confirmed otherwise; sends progress notifications).',
    inputShape: { ...offeredParameters(inputShape, READ_PARAMETERS, readOnly), action: z.enum(offeredActions(ACTIONS, READ_ONLY_ACTIONS, readOnly)).describe('what to do') },
    outputSchema,
    annotations: annotationsFor(readOnly),
    // The reading variant's input has only its parameters; the others are absent, as when not sent.
    run: (parsed, extra) => {
      const input = parsed as Input;
      return answer(input.action, input.host_id, () => runComposeAction(context, input, extra, confirmer(server.server, extra)));
    },
  });
}

async function runComposeAction(context: McpContext, input: Input, extra: ToolExtra, confirm: Confirm): Promise<ActionResult> {
  if (input.action === 'list' && (input.host_id === undefined || input.host_id === ALL_HOSTS)) {
    const config = await context.config();
    const { items, host_errors } = allHostsAnswer(await forEachHost(enabledHosts(config), async (host) => (await noteListing(host.id, await listStacks(context.attach(host)))).map(stackRow)));
    const copies = [...(await standbyCopiesByHost(config))].flatMap(([hostId, kept]) => kept.map((copy) => standbyCopyRow(hostId, copy)));
    const away = [...(await failedOverByHost(config))].flatMap(([hostId, stacks]) => stacks.map((s) => failedOverRow(hostId, s)));
    return { ...page('stacks', items, input), host_errors, ...(copies.length > 0 ? { standby_copies: copies } : {}), ...(away.length > 0 ? { failed_over: away } : {}) };
  }
  if (input.action === 'migrate') return migrate(context, input, extra, confirm);
  // Refused before any host is touched, as every bad parameter.
  const { flags, services } = composeArguments(input.action, input.options);
  const target = await context.dockerHost(required(input.host_id, 'host_id', input.action));
  const stack = () => required(input.stack_name, 'stack_name', input.action);
  const progress = progressReporter(extra);
  switch (input.action) {
    case 'list': {
      const listed = await noteListing(target.host.id, await listStacks(target));
      const config = await context.config();
      const copies = ((await standbyCopiesByHost(config)).get(target.host.id) ?? []).map((copy) => standbyCopyRow(target.host.id, copy));
      const away = ((await failedOverByHost(config)).get(target.host.id) ?? []).map((s) => failedOverRow(target.host.id, s));
      return { ...page('stacks', listed.map(stackRow), input), ...(copies.length > 0 ? { standby_copies: copies } : {}), ...(away.length > 0 ? { failed_over: away } : {}) };
    }
    case 'view':
      return { stack_name: stack(), ...(await viewStack(target, stack())) };
    case 'deploy': {
      const content = required(input.compose_content, 'compose_content', input.action);
      await refuseStartOnStandby(await context.config(), target.host.id, stack(), 'deploy');
      const environment = input.environment ? { environment: input.environment } : {};
      if (input.dry_run) {
        const review = await previewDeploy(target, stack(), content, environment);
        return { stack_name: stack(), dry_run: true, ...review, question: review.needsConfirmation ? deployQuestion(review) : null };
      }
      progress.step(`deploying ${stack()} on ${target.host.id}`);
      const deployed = await deployStack(target, stack(), content, {
        ...environment,
        pullImages: input.pull_images,
        recreate: input.recreate,
        signal: extra.signal,
        approve: async (review) => {
          if (review.needsConfirmation) await confirm(input.confirm, { ...deployQuestion(review), retry: 'run with dry_run to see it, then repeat with confirm: true' });
        },
      });
      await noteDeployedStack(target.host.id, stack());
      progress.step(`${stack()} deployed`);
      const { stack: _stack, file, ...rest } = deployed;
      return { stack_name: stack(), compose_file: file, ...rest };
    }
    case 'down':
      await confirm(input.confirm, { effect: `down stops and removes the containers of ${stack()} on ${target.host.id}${flags.includes('--volumes') ? ', and its named volumes with their data' : ''}` });
      return { stack_name: stack(), ...(await stackAction(target, stack(), 'down', { signal: extra.signal, flags, services })) };
    case 'up':
    case 'restart':
    case 'build':
    case 'pull': {
      if (input.action === 'up' || input.action === 'restart') await refuseStartOnStandby(await context.config(), target.host.id, stack(), input.action);
      progress.step(`${input.action} ${stack()} on ${target.host.id}`);
      const done = await stackAction(target, stack(), input.action, { signal: extra.signal, flags, services });
      progress.step(`${input.action} ${stack()} done`);
      return { stack_name: stack(), ...done };
    }
    case 'logs': {
      refuseFollow(input.follow);
      const { output, ...rest } = await stackAction(target, stack(), 'logs', { tail: input.lines });
      return { stack_name: stack(), logs: logLines(output), ...rest };
    }
    case 'ps': {
      const containers = await stackContainers(target, stack());
      return { stack_name: stack(), containers: services.length === 0 ? containers : containers.filter((c) => c.service !== null && services.includes(c.service)) };
    }
    case 'discover':
      return page('stacks', await discoverStacks(target, input.stack_name), input);
  }
}

async function migrate(context: McpContext, input: Input, extra: ToolExtra, confirm: Confirm): Promise<ActionResult> {
  if (input.options !== undefined && Object.keys(input.options).length > 0) {
    throw new InvalidInputError('options', JSON.stringify(input.options), 'are not taken by migrate; its own parameters are dry_run, cold, remove_source, keep_failed, force, bwlimit, resume');
  }
  // Checked before anything else, so a bad rate changes nothing.
  if (input.bwlimit !== undefined) {
    parseBwlimit(input.bwlimit);
    if (input.resume !== undefined) throw new InvalidInputError('bwlimit', input.bwlimit, 'is not taken with resume: a resumed migration keeps the limit it was started with');
  }
  if (input.skip_stop_source) {
    throw new InvalidInputError('skip_stop_source', 'true', 'is not supported: the final copy is made while the stack is stopped, so the data is consistent (the seed already runs while it works)');
  }
  if (!input.start_target) {
    throw new InvalidInputError('start_target', 'false', 'is not supported: a migration is verified by starting the stack on the target, and rolled back if it does not run');
  }
  if (input.dry_run && input.resume === undefined) return planMigration(context, input);
  // Refused before any host is touched: a waiting request would hold its client with no answer.
  const release = migrationSlots.tryAcquire();
  if (!release) throw new TooManyMigrationsError(migrationSlots.limit);
  try {
    return await runMigration(context, input, extra, confirm);
  } finally {
    release();
  }
}

async function planMigration(context: McpContext, input: Input): Promise<ActionResult> {
  const source = await context.dockerHost(required(input.host_id, 'host_id', input.action));
  const target = await context.dockerHost(required(input.target_host_id, 'target_host_id', input.action));
  const stack = required(input.stack_name, 'stack_name', input.action);
  return { stack_name: stack, ...(await dryRunStackMigration(source, target, stack, { cold: input.cold })) };
}

async function runMigration(context: McpContext, input: Input, extra: ToolExtra, confirm: Confirm): Promise<ActionResult> {
  const progress = progressReporter(extra);
  const run = { onProgress: progress.listener, signal: extra.signal };
  if (input.resume !== undefined) {
    await confirm(input.confirm, { effect: `resuming migration ${input.resume} finishes it or rolls it back on both hosts` });
    const config = await context.config();
    const outcome = await resumeMigration(input.resume, (hostId) => context.attach(findHost(config, hostId)), run);
    const standbyNote = await settleStandbyAfterMove(config, outcome.report.source, context.attach(findHost(config, outcome.report.target)), outcome.report.stack);
    return { ...outcome, ...(standbyNote ? { standby_note: standbyNote } : {}) };
  }
  const source = await context.dockerHost(required(input.host_id, 'host_id', input.action));
  const target = await context.dockerHost(required(input.target_host_id, 'target_host_id', input.action));
  const stack = required(input.stack_name, 'stack_name', input.action);
  await confirm(input.confirm, {
    effect: `migrating ${stack} stops it on ${source.host.id} and starts it on ${target.host.id}${input.remove_source ? `, then deletes its folder and data on ${source.host.id}` : ''}`,
    retry: 'run with dry_run to see the plan, then repeat with confirm: true',
  });
  const report = await migrateStack(source, target, stack, {
    ...run,
    cold: input.cold,
    force: input.force,
    keepFailed: input.keep_failed,
    removeSource: input.remove_source,
    yes: input.remove_source,
    ...(input.bwlimit === undefined ? {} : { bwlimit: parseBwlimit(input.bwlimit) }),
    standbyStagingOf: standbyStagingOf(await context.config(), source.host.id, target.host),
  });
  const standbyNote = await settleStandbyAfterMove(await context.config(), source.host.id, target, report.stack);
  return { stack_name: stack, ...report, ...(standbyNote ? { standby_note: standbyNote } : {}) };
}

/** A stack as a list row: its folder only when compose_file does not already say it. */
function stackRow({ folder, ...stack }: StackSummary): Omit<StackSummary, 'folder'> & { folder?: string } {
  return folder !== null && stack.composeFile !== null && path.posix.dirname(stack.composeFile) === folder ? stack : { ...stack, ...(folder === null ? {} : { folder }) };
}

/** A standby copy as list shows it: where it is kept, of what, and the data it holds (the last confirmed pass). */
function standbyCopyRow(hostId: string, copy: StandbyCopy) {
  // Absent rather than null before the first good pass: nulls do not survive the wire.
  return { host_id: hostId, stack_name: copy.stack, standby_of: `${copy.of}/${copy.stack}`, ...(copy.confirmed ? { confirmed_snapshot: copy.confirmed.snapshot, confirmed_at: copy.confirmed.at } : {}) };
}

function failedOverRow(hostId: string, s: FailedOverStack) {
  return { host_id: hostId, stack_name: s.stack, runs_on: s.to, since: s.at, state: fenceState(s) };
}
