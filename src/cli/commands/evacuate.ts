import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { describeLeftBehind, describeMove, type EvacuationPlan } from '../../migration/evacuate-plan.js';
import { incompleteEvacuation, planHostEvacuation, runEvacuation, type EvacuationReport } from '../../migration/evacuate.js';
import { DEFAULT_CONCURRENCY } from '../../migration/migrate-many.js';
import { MAX_CONCURRENT_MIGRATIONS } from '../../migration/migration-slots.js';
import { confirmAtTerminal } from '../ask.js';
import { cancelMigrationOnSignals } from '../cancel-on-signals.js';
import { cliContext, dockerHostOf } from '../context.js';
import { formatBytes } from '../format.js';
import { emit, table } from '../output.js';
import { progressView } from '../progress-view.js';

interface EvacuateOptions {
  to?: string[];
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  concurrency: number;
  startTimeout: string;
}

export function registerEvacuateCommand(program: Command): void {
  program
    .command('evacuate')
    .description(
      'Move every stack that runs on a host elsewhere: to its standby where standby.yml declares one, else to the candidate whose free space, ZFS, images and ports take it. ' +
        'Stacks that fit nowhere are named, with each candidate\'s reason, before anything moves; the others then move, and the command fails naming those left',
    )
    .argument('<host>', 'the host to empty (it must answer: for a host that is gone, see failover)')
    .option('--to <hosts...>', 'the hosts the stacks may go to (default: every other enabled host in hosts.yml)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--yes', 'do not ask (no terminal, a script)')
    .option('--concurrency <count>', `migrations at once (default ${DEFAULT_CONCURRENCY}, at most ${MAX_CONCURRENT_MIGRATIONS})`, parseCount, DEFAULT_CONCURRENCY)
    .option('--start-timeout <seconds>', 'how long to wait on each target for every service to run before rolling that stack back', '120')
    .option('--json', 'machine-readable output')
    .action(async (hostId: string, options: EvacuateOptions, command: Command) => {
      const seconds = Number(options.startTimeout);
      if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidInputError('start timeout', options.startTimeout, 'must be a number of seconds above 0');
      const context = await cliContext(command);
      const hostOf = (id: string) => dockerHostOf(context, id);
      const request = { host: hostId, ...(options.to ? { to: options.to } : {}) };
      const plan = await planHostEvacuation(context.config, hostOf, request);
      if (options.dryRun) {
        emit(plan, options, (p) => renderPlan(p, true));
        return;
      }
      // What fits nowhere is told before anything moves (with --json the report comes at the end: on stderr, then).
      if (!options.json) process.stdout.write(`${renderPlan(plan, false)}\n`);
      else for (const left of plan.leftBehind) process.stderr.write(`fits nowhere, stays on ${plan.host}: ${describeLeftBehind(left)}\n`);
      if (plan.moves.length > 0) {
        await confirmAtTerminal(
          {
            effect: `move ${plan.moves.length} stack${plan.moves.length === 1 ? '' : 's'} off ${plan.host}: each is stopped there and started on its new host`,
            details: [
              ...plan.moves.map(describeMove),
              ...plan.leftBehind.map((l) => `stays (fits nowhere): ${l.stack}`),
            ],
          },
          options.yes === true,
        );
      }
      const cancel = cancelMigrationOnSignals();
      try {
        const report = await runEvacuation(context.config, hostOf, plan, request, {
          concurrency: options.concurrency,
          startTimeoutMs: seconds * 1000,
          signal: cancel.signal,
          onJournal: cancel.named,
          onProgress: cancel.watching(options.json ? undefined : progressView()),
        });
        emit(report, options, renderReport);
        const incomplete = incompleteEvacuation(report);
        if (incomplete) throw incomplete;
      } finally {
        cancel.dispose();
      }
    });
}

function renderPlan(plan: EvacuationPlan, dryRun: boolean): string {
  const lines = [
    `evacuation of ${plan.host}${dryRun ? ' — dry run, nothing was changed' : ''}; candidates: ${plan.candidates.join(', ')}` +
      (plan.zfsSource ? ` (ZFS candidates first: ${plan.host} has ZFS)` : ''),
  ];
  if (plan.moves.length > 0) {
    lines.push(
      '',
      table(
        ['STACK', 'TO', 'METHOD', 'DATA', 'WHY'],
        plan.moves.map((m) => [m.stack, m.to, m.method, formatBytes(m.dataBytes), m.why]),
      ),
    );
    for (const move of plan.moves.filter((m) => m.passedOver.length > 0)) {
      lines.push(...move.passedOver.map((p) => `  ${move.stack} not to ${p.host}: ${p.reason}`));
    }
  } else {
    lines.push('', 'nothing to move');
  }
  if (plan.leftBehind.length > 0) {
    lines.push('', `fits nowhere, stays on ${plan.host}:`);
    for (const left of plan.leftBehind) {
      lines.push(`  ${left.stack}`, ...left.reasons.map((r) => `    ${r.host === null ? 'every candidate' : r.host}: ${r.reason}`));
    }
  }
  if (plan.skipped.length > 0) lines.push('', 'left alone:', ...plan.skipped.map((s) => `  ${s.stack}: ${s.reason}`));
  return lines.join('\n');
}

function renderReport(report: EvacuationReport): string {
  return [
    `evacuation of ${report.host}: ${report.moved.length} moved, ${report.failed.length} failed, ${report.plan.leftBehind.length} fit nowhere`,
    ...report.moved.map(
      (m) =>
        `  moved ${m.stack} to ${m.to} in ${m.report.totalSeconds.toFixed(1)} s (downtime ${m.report.downtimeSeconds.toFixed(1)} s)` +
        `${(m.report.seededFromStandby ?? []).length > 0 ? '; seeded from its standby copy' : ''}${m.standbyNote ? `\n    note: ${m.standbyNote}` : ''}`,
    ),
    ...report.failed.map((f) => `  failed ${f.stack} to ${f.to}: ${f.error}`),
    ...report.plan.leftBehind.map((l) => `  left ${describeLeftBehind(l)}`),
  ].join('\n');
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1 || count > MAX_CONCURRENT_MIGRATIONS) {
    throw new InvalidInputError('concurrency', value, `must be a whole number from 1 to ${MAX_CONCURRENT_MIGRATIONS}`);
  }
  return count;
}
