import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { failover, type FailoverReport } from '../../failover/failover.js';
import { describeFence, fenceHost } from '../../failover/fence.js';
import { DEFAULT_HOST_FAILOVER_PARALLEL, describeHostFailoverPlan, failoverHost, planHostFailover, type HostFailoverReport } from '../../failover/failover-host.js';
import { DEFAULT_PRIMARY_INTERVAL_MS, DEFAULT_PRIMARY_TRIES } from '../../failover/primary-check.js';
import { loadStandbyFile } from '../../standby/declarations.js';
import { confirmAtTerminal } from '../ask.js';
import { cliContext, dockerHostOf, type CliContext } from '../context.js';
import { emit } from '../output.js';
import { progressView } from '../progress-view.js';

interface FailoverOptions {
  to?: string;
  host?: string;
  parallel: number;
  primaryDead?: boolean;
  tries: number;
  interval: number;
  yes?: boolean;
  json?: boolean;
}

export function registerFailoverCommand(program: Command): void {
  program
    .command('failover')
    .description(
      "Start a stack on its standby because its host is gone: from the last copy the standby holds of every dataset at once. " +
        'Refused while the host answers (that is a migrate). standby.yml records it; no pass runs from the old host after. ' +
        'With --host, every stack of that host that has a standby, with one report',
    )
    .argument('[stack]', 'the stack, as declared in standby.yml (or --host)')
    .option('--to <standby>', 'the standby, when the stack has more than one')
    .option('--host <host>', 'every stack of this host that has a standby (the host is tried once); those without one are named as lost')
    .option('--parallel <count>', `with --host: stacks failing over at once (default ${DEFAULT_HOST_FAILOVER_PARALLEL})`, parseWhole('parallel'), DEFAULT_HOST_FAILOVER_PARALLEL)
    .option('--primary-dead', "the host is down (your word, where this machine still reaches it or the network is split): it is not tried")
    .option('--tries <count>', `tries of the host before it counts as gone (default ${DEFAULT_PRIMARY_TRIES})`, parseWhole('tries'), DEFAULT_PRIMARY_TRIES)
    .option('--interval <seconds>', `seconds between the tries (default ${DEFAULT_PRIMARY_INTERVAL_MS / 1000})`, parseWhole('interval'), DEFAULT_PRIMARY_INTERVAL_MS / 1000)
    .option('--yes', 'do not ask (no terminal, a script)')
    .option('--json', 'machine-readable output')
    .action(async (stack: string | undefined, options: FailoverOptions, command: Command) => {
      if (stack !== undefined && options.host !== undefined) throw new InvalidInputError('stack', stack, `and --host ${options.host} both given: name one stack, or a host for all its stacks`);
      if (stack === undefined && options.host === undefined) throw new InvalidInputError('stack', '', 'missing: name the stack, or --host HOST for every stack of a host');
      const context = await cliContext(command);
      if (options.host !== undefined) return failoverHostCommand(context, options.host, options);
      if (stack === undefined) return;
      await confirmAtTerminal(
        {
          effect: `start ${stack} on its standby from the last copy there`,
          details: ['what its host wrote after that copy stays on that host, not in the stack', 'the standby copy becomes the stack: no standby is kept until a failback'],
        },
        options.yes === true,
      );
      const onProgress = options.json ? undefined : progressView();
      const report = await failover(context.config, (id) => dockerHostOf(context, id), {
        stack,
        ...(options.to !== undefined ? { to: options.to } : {}),
        primaryDead: options.primaryDead === true,
        primaryCheck: { tries: options.tries, intervalMs: options.interval * 1000 },
        ...(onProgress ? { onProgress } : {}),
      });
      emit(report, options, renderFailover);
    });
}

export function registerFenceCommand(program: Command): void {
  program
    .command('fence')
    .description(
      'Fence the hosts stacks were failed over from: stop those stacks there (kept from restarting), set their datasets read-only, and measure what was written since. ' +
        'Any command that reaches such a host does this first by itself',
    )
    .argument('[hosts...]', 'the hosts (default: every host with a stack failed over from it and not fenced yet)')
    .option('--json', 'machine-readable output')
    .action(async (hostIds: string[], options: { json?: boolean }, command: Command) => {
      const context = await cliContext(command);
      const { standbys } = await loadStandbyFile(context.config.location.path);
      const pending = [...new Set(standbys.filter((d) => d.failedOver && !d.failedOver.fencedAt).map((d) => d.host))];
      const wanted = hostIds.length > 0 ? hostIds : pending;
      const results = [];
      for (const host of context.selectHosts(wanted)) results.push(...(await fenceHost(context.config, host)));
      emit(results, options, (rows) => (rows.length === 0 ? 'nothing to fence: no stack was failed over from these hosts, or each was fenced already' : rows.map(describeFence).join('\n')));
    });
}

async function failoverHostCommand(context: CliContext, host: string, options: FailoverOptions): Promise<void> {
  if (options.to !== undefined) throw new InvalidInputError('--to', options.to, 'is for one stack: with --host, each stack goes to its own standby');
  const plan = await planHostFailover(context.config, host);
  await confirmAtTerminal({ effect: `fail over ${plan.stacks.length} stack(s) of ${host} to their standbys`, details: describeHostFailoverPlan(plan) }, options.yes === true);
  const onProgress = options.json ? undefined : progressView();
  const report = await failoverHost(context.config, (id) => dockerHostOf(context, id), {
    host,
    parallel: options.parallel,
    primaryDead: options.primaryDead === true,
    primaryCheck: { tries: options.tries, intervalMs: options.interval * 1000 },
    ...(onProgress ? { onProgress } : {}),
  });
  emit(report, options, renderHostFailover);
  if (report.failed > 0) process.exitCode = 1;
}

function renderHostFailover(r: HostFailoverReport): string {
  const ok = r.results.filter((x) => x.ok).length;
  return [
    `failover of ${r.host}: ${ok} of ${r.results.length} stack(s) running on their standbys in ${r.seconds.toFixed(1)} s${r.failed > 0 ? `, ${r.failed} FAILED` : ''}`,
    ...r.primary.map((line) => `  ${r.host}: ${line}`),
    ...r.results.map((x) => (x.ok ? indent(renderFailover(x.report)) : `  FAILED: ${x.stack} (to ${x.to}): ${x.error.message}`)),
    ...r.alreadyFailedOver.map((s) => `  already failed over: ${s.stack} to ${s.to} at ${s.at}`),
    ...r.lost.map((s) => `  LOST until ${r.host} returns (no standby): ${s.stack}${s.seenAt ? `, last seen there ${s.seenAt}` : ''}`),
    ...r.standbysLost.map((s) => `  no standby copy kept until ${r.host} returns: ${s.host}/${s.stack}`),
    r.listedAt === null
      ? `  note: ${r.host}'s stacks were never listed by this controller: stacks without a standby may be missing above`
      : `  note: stacks without a standby as of ${r.host}'s last listing here (${r.listedAt}); one deployed there since is not named`,
  ].join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

function renderFailover(r: FailoverReport): string {
  return [
    `failed over: ${r.stack} from ${r.from} to ${r.to} in ${r.seconds.toFixed(1)} s, every service running (${r.services.map((s) => s.service).join(', ')})`,
    `  started from @${r.snapshot}, taken ${r.snapshotAt}: what ${r.from} wrote in the ${Math.round(r.lossWindowSeconds)} s after it is not here`,
    `  data: ${r.data.join(', ')}`,
    ...(r.volumes.length > 0 ? [`  named volumes: ${r.volumes.join(', ')}`] : []),
    `  folder: ${r.folder}`,
    ...r.primary.map((line) => `  ${r.from}: ${line}`),
    ...r.notes.map((note) => `  note: ${note}`),
  ].join('\n');
}

function parseWhole(what: string) {
  return (value: string): number => {
    const count = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(count) || count < 1) throw new InvalidInputError(what, value, 'must be a whole number from 1');
    return count;
  };
}
