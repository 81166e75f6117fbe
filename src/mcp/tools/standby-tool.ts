/**
 * `docker_standby`: stacks kept replicated on a standby host (standby.yml
 * beside hosts.yml), the same operations as the CLI's `standby` commands.
 */
import { z } from 'zod';
import type { LoadedConfig } from '../../config/load.js';
import { addStandby, forgetStandby, listStandbys, standbyStatuses, syncStandbys } from '../../standby/manage.js';
import { standbyCheck } from '../../standby/status.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { failback } from '../../failover/failback.js';
import { InvalidInputError } from '../../errors.js';
import { fencePendingHosts } from '../../failover/fence.js';
import { failover } from '../../failover/failover.js';
import { DEFAULT_HOST_FAILOVER_PARALLEL, describeHostFailoverPlan, failoverHost, planHostFailover } from '../../failover/failover-host.js';
import { confirmer, type Confirm } from '../confirm.js';
import type { McpContext } from '../context.js';
import { progressReporter, type ToolExtra } from '../progress.js';
import { answer, toolOutputSchema, type ActionResult } from '../tool-result.js';
import type { ToolTable } from '../tool-table.js';
import { offeredActions, offeredParameters, optional, optionalText, required } from './params.js';
import { annotationsFor, type ToolVariant } from './variants.js';

const ACTIONS = ['list', 'status', 'add', 'remove', 'sync', 'failover', 'failback'] as const;
const READ_ONLY_ACTIONS = ['list', 'status'] as const;
const READ_PARAMETERS = [] as const;

const inputShape = {
  action: z.enum(ACTIONS).describe('what to do'),
  host_id: optionalText(z.string().max(63)).describe(
    'add, remove: the host the stack runs on; sync: only the stacks declared on this host; failback: the host it was failed over from, when several; ' +
      'failover (instead of stack_name): a host that is gone, every stack of it that has a standby',
  ),
  stack_name: optionalText(z.string().max(63)).describe('add, remove, failover: the stack (add: by project or folder name); sync: only this stack (every declared one when absent)'),
  standby_host_id: optionalText(z.string().max(63)).describe('add: the standby host that keeps the copy; failover: which standby, when the stack has several'),
  primary_dead: z.boolean().default(false).describe("failover: the user's word that the stack's host is down (it is then not tried); only where it still answers this server but is known to be down, or the network is split"),
  parallel: optional(z.number().int().min(1).max(8)).describe(`failover with host_id: how many stacks fail over at once (default ${DEFAULT_HOST_FAILOVER_PARALLEL})`),
  confirm: optional(z.boolean()).describe('failover, failback: true confirms it, only when the client cannot ask its user (elicitation); a client that can is always asked'),
  every: optionalText(z.string().max(16)).describe('add: how often a pass runs: 90s, 15m, 2h, 1d (default 15m, or what was declared)'),
  keep: optional(z.number().int().min(1).max(1000), [0]).describe('add: snapshots kept on the standby (default 4, or what was declared)'),
  check: z.boolean().default(true).describe('add: look the stack up on host_id first (false when that host is offline)'),
};

type Input = z.output<z.ZodObject<typeof inputShape>>;

const outputSchema = toolOutputSchema({
  standbys: z.array(z.looseObject({ host: z.string(), stack: z.string(), to: z.string() })).optional().describe('list: every declared standby'),
  statuses: z
    .array(z.looseObject({ host: z.string(), stack: z.string(), state: z.string(), confirmed_at: z.string().optional(), lag_seconds: z.number().optional() }))
    .optional()
    .describe('status: per stack, the time of the newest snapshot on its standby (writes after it are what a lost host loses; absent: nothing copied yet), the lag, the last pass'),
  fenced: z.array(z.string()).optional().describe('status: hosts stacks were failed over from, reached and fenced first (or why not)'),
  check: z.looseObject({ exit_code: z.number(), line: z.string() }).optional().describe('status: the monitoring verdict (0 OK, 1 WARNING, 2 CRITICAL) and its line'),
  declared: z.looseObject({ host: z.string(), stack: z.string(), to: z.string() }).optional().describe('add: the declaration as stored'),
  replaced: z.looseObject({}).nullable().optional().describe('add: the declaration it replaced, or null'),
  removed: z.looseObject({ host: z.string(), stack: z.string(), to: z.string() }).optional().describe('remove: the declaration forgotten (its copies on the standby are left)'),
  passes: z.array(z.looseObject({ host: z.string(), stack: z.string(), ok: z.boolean() })).optional().describe('sync: one record per pass: snapshot, bytes, datasets, pruned, staged folder and images, not copied, error'),
  file: z.string().optional().describe('list, add, remove: the standby.yml read or written'),
  failover: z
    .looseObject({ stack: z.string(), from: z.string(), to: z.string(), snapshot: z.string(), snapshot_at: z.string(), loss_window_seconds: z.number() })
    .optional()
    .describe('failover: the copy the stack started from on the standby and when it was taken (what the lost host wrote after it is not there), its data, volumes, folder, services'),
  failback: z
    .looseObject({ stack: z.string(), from: z.string(), to: z.string(), common_snapshot: z.string() })
    .optional()
    .describe('failback: where the old host\'s own writes after the failover snapshot are kept (kept datasets, directory), the move back (bytes sent, downtime), and the first pass that made the standby a standby again'),
  host_failover: z
    .looseObject({
      host: z.string(),
      primary: z.array(z.string()),
      results: z.array(z.looseObject({ stack: z.string(), to: z.string(), ok: z.boolean() })),
      failed: z.number(),
      lost: z.array(z.looseObject({ stack: z.string() })),
    })
    .optional()
    .describe(
      'failover with host_id: how the host was found gone (tried once), one result per stack with a standby (its failover report, or its error), ' +
        'the stacks without a standby (lost until the host returns, as last listed here), those failed over before, and the standby copies the host kept for others',
    ),
});

export function registerStandbyTool(tools: ToolTable, server: McpServer, context: McpContext, variant: ToolVariant): void {
  const { readOnly } = variant;
  tools.add({
    name: variant.name,
    title: 'Standby hosts',
    description: readOnly
      ? 'Stacks kept replicated on a standby host (reading only: changes nothing). Actions: list (the declarations), status (per stack: data on the standby as of when, lag, last pass, and the monitoring verdict).'
      : 'Stacks kept replicated on a standby host, so a move there sends only what changed. Actions: list, status (data on the standby as of when, lag, last pass), ' +
        'add (host_id, stack_name, standby_host_id, every, keep), remove (host_id, stack_name; the copies are left), sync (one pass now: every declared stack, or stack_name / host_id), ' +
        'failover (stack_name: start it on its standby from the last copy there because its host is gone; refused while the host answers, which is a migrate; confirmed; ' +
        'or host_id instead: every stack of that host with a standby, the host tried once, with one report naming the stacks lost for want of one), ' +
        'failback (stack_name, host_id when several: once the old host is back, keep what it wrote after the failover snapshot there, move the stack back sending only what the standby wrote since, the standby keeps the copy again; confirmed).',
    inputShape: { ...offeredParameters(inputShape, READ_PARAMETERS, readOnly), action: z.enum(offeredActions(ACTIONS, READ_ONLY_ACTIONS, readOnly)).describe('what to do') },
    outputSchema,
    annotations: annotationsFor(readOnly),
    run: (parsed, extra) => {
      const input = parsed as Input;
      return answer(input.action, input.host_id, () => runStandbyAction(context, input, extra, confirmer(server.server, extra)));
    },
  });
}

async function runStandbyAction(context: McpContext, input: Input, extra: ToolExtra, confirm: Confirm): Promise<ActionResult> {
  const config = await context.config();
  const hostOf = (id: string) => context.dockerHost(id);
  switch (input.action) {
    case 'list':
      return listStandbys(config);
    case 'status': {
      // Hosts stacks were failed over from are fenced first (the reading tool too: stopping a stack that runs twice is what keeps data safe).
      const fenced = await fencePendingHosts(config);
      const statuses = await standbyStatuses(config);
      const verdict = standbyCheck(statuses);
      return { statuses, check: { exitCode: verdict.exitCode, line: verdict.line }, ...(fenced.length > 0 ? { fenced } : {}) };
    }
    case 'add': {
      const declared = await addStandby(config, hostOf, {
        host: required(input.host_id, 'host_id', 'add'),
        stack: required(input.stack_name, 'stack_name', 'add'),
        to: required(input.standby_host_id, 'standby_host_id', 'add'),
        check: input.check,
        ...(input.every !== undefined ? { every: input.every } : {}),
        ...(input.keep !== undefined ? { keep: input.keep } : {}),
      });
      return { ...declared };
    }
    case 'remove':
      return forgetStandby(config, required(input.host_id, 'host_id', 'remove'), required(input.stack_name, 'stack_name', 'remove'));
    case 'sync': {
      const progress = progressReporter(extra);
      const names = await passesAskedFor(config, input);
      if (names.length === 0) return { passes: [] };
      return { passes: await syncStandbys(config, hostOf, names, { onProgress: progress.listener, signal: extra.signal }) };
    }
    case 'failover': {
      if (input.host_id !== undefined) return failoverWholeHost(context, config, input, extra, confirm);
      const stack = required(input.stack_name, 'stack_name', 'failover');
      await confirm(input.confirm, {
        effect: `failover starts ${stack} on its standby from the last copy there`,
        details: ['what its host wrote after that copy stays on that host, not in the stack', 'the copy becomes the stack: no standby is kept until a failback'],
      });
      const progress = progressReporter(extra);
      const report = await failover(config, hostOf, {
        stack,
        ...(input.standby_host_id !== undefined ? { to: input.standby_host_id } : {}),
        primaryDead: input.primary_dead,
        onProgress: progress.listener,
      });
      // The host it left is fenced on its next contact: its connection is made afresh.
      await context.ssh.forget(report.from);
      return { failover: report };
    }
    case 'failback': {
      const stack = required(input.stack_name, 'stack_name', 'failback');
      await confirm(input.confirm, {
        effect: `failback moves ${stack} back from its standby to the host it was failed over from`,
        details: [
          'what that host wrote after the failover snapshot is kept there as a dataset of its own, then its copy is rolled back to that snapshot',
          'the stack stops on the standby for the final sync (a short outage); the standby keeps the copy again',
        ],
      });
      const progress = progressReporter(extra);
      const report = await failback(config, hostOf, {
        stack,
        ...(input.host_id !== undefined ? { on: input.host_id } : {}),
        onProgress: progress.listener,
        signal: extra.signal,
      });
      return { failback: report };
    }
  }
}

async function failoverWholeHost(context: McpContext, config: LoadedConfig, input: Input, extra: ToolExtra, confirm: Confirm): Promise<ActionResult> {
  const host = input.host_id as string;
  if (input.stack_name !== undefined) throw new InvalidInputError('stack_name', input.stack_name, `and host_id ${host} both given: a failover takes one stack, or a host for all its stacks`);
  if (input.standby_host_id !== undefined) throw new InvalidInputError('standby_host_id', input.standby_host_id, 'is for one stack: with host_id, each stack goes to its own standby');
  const plan = await planHostFailover(config, host);
  await confirm(input.confirm, { effect: `failover starts ${plan.stacks.length} stack(s) of ${host} on their standbys`, details: describeHostFailoverPlan(plan) });
  const progress = progressReporter(extra);
  const report = await failoverHost(config, (id) => context.dockerHost(id), {
    host,
    primaryDead: input.primary_dead,
    ...(input.parallel !== undefined ? { parallel: input.parallel } : {}),
    onProgress: progress.listener,
  });
  // The host it left is fenced on its next contact: its connection is made afresh.
  await context.ssh.forget(host);
  return { host_failover: report };
}

/** `HOST/STACK` of the declarations a sync covers: the stack named (on host_id when given), those of host_id, or all. */
async function passesAskedFor(config: LoadedConfig, input: Input): Promise<string[]> {
  if (input.stack_name !== undefined) return [input.host_id === undefined ? input.stack_name : `${input.host_id}/${input.stack_name}`];
  const { standbys } = await listStandbys(config);
  return standbys.filter((s) => input.host_id === undefined || s.host === input.host_id).map((s) => `${s.host}/${s.stack}`);
}
