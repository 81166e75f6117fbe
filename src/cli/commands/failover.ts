import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { failover, type FailoverReport } from '../../failover/failover.js';
import { describeFence, fenceHost } from '../../failover/fence.js';
import { DEFAULT_PRIMARY_INTERVAL_MS, DEFAULT_PRIMARY_TRIES } from '../../failover/primary-check.js';
import { loadStandbyFile } from '../../standby/declarations.js';
import { confirmAtTerminal } from '../ask.js';
import { cliContext, dockerHostOf } from '../context.js';
import { emit } from '../output.js';
import { progressView } from '../progress-view.js';

interface FailoverOptions {
  to?: string;
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
        'Refused while the host answers (that is a migrate). standby.yml records it; no pass runs from the old host after',
    )
    .argument('<stack>', 'the stack, as declared in standby.yml')
    .option('--to <standby>', 'the standby, when the stack has more than one')
    .option('--primary-dead', "the host is down (your word, where this machine still reaches it or the network is split): it is not tried")
    .option('--tries <count>', `tries of the host before it counts as gone (default ${DEFAULT_PRIMARY_TRIES})`, parseWhole('tries'), DEFAULT_PRIMARY_TRIES)
    .option('--interval <seconds>', `seconds between the tries (default ${DEFAULT_PRIMARY_INTERVAL_MS / 1000})`, parseWhole('interval'), DEFAULT_PRIMARY_INTERVAL_MS / 1000)
    .option('--yes', 'do not ask (no terminal, a script)')
    .option('--json', 'machine-readable output')
    .action(async (stack: string, options: FailoverOptions, command: Command) => {
      const context = await cliContext(command);
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
