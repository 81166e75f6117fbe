import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import type { StandbyDeclaration } from '../../standby/declarations.js';
import { addStandby, forgetStandby, listStandbys, standbyStatuses, syncStandbys } from '../../standby/manage.js';
import type { StandbyPassRecord } from '../../standby/pass-state.js';
import { runScheduler } from '../../standby/scheduler.js';
import { fencePendingHosts } from '../../failover/fence.js';
import { standbyCheck, type StandbyStatus } from '../../standby/status.js';
import { cliContext, dockerHostOf } from '../context.js';
import { formatBytes } from '../format.js';
import { parseBwlimit } from '../../transfer/bwlimit.js';
import { emit, table } from '../output.js';
import { progressView } from '../progress-view.js';

const BWLIMIT_FLAG = '--bwlimit <rate>';
const BWLIMIT_HELP = 'limit each dataset\'s stream to this many bytes a second, e.g. 500K, 50M (K, M, G: powers of 1024), as migrate --bwlimit does';

interface AddOptions {
  on: string;
  to: string;
  every?: string;
  keep?: number;
  check: boolean;
  json?: boolean;
}

export function registerStandbyCommands(program: Command): void {
  const standby = program
    .command('standby')
    .description('Stacks whose data is kept replicated on a second host (declared in standby.yml beside hosts.yml)');

  standby
    .command('add')
    .description('Declare (or change) the standby host of a stack; nothing is copied by this command')
    .argument('<stack>', 'the stack, by project or folder name, as it runs on --on')
    .requiredOption('--on <host>', 'the host the stack runs on')
    .requiredOption('--to <standby>', 'the standby host that keeps a copy')
    .option('--every <interval>', 'how often a pass runs: 90s, 15m, 2h, 1d (default 15m, or what was declared)')
    .option('--keep <count>', 'snapshots kept on the standby (default 4, or what was declared)', parseCount)
    .option('--no-check', 'do not look the stack up on --on (the host may be offline)')
    .option('--json', 'machine-readable output')
    .action(async (stackName: string, options: AddOptions, command: Command) => {
      const context = await cliContext(command);
      const declared = await addStandby(context.config, (id) => dockerHostOf(context, id), {
        host: options.on,
        stack: stackName,
        to: options.to,
        check: options.check,
        ...(options.every !== undefined ? { every: options.every } : {}),
        ...(options.keep !== undefined ? { keep: options.keep } : {}),
      });
      emit(declared, options, (r) =>
        [
          `${r.replaced ? 'changed' : 'declared'}: ${describeStandby(r.declared)} (${r.file})`,
          ...(r.replaced && r.replaced.to !== r.declared.to ? [`it was ${r.replaced.to}; copies already on ${r.replaced.to} are left as they are`] : []),
        ].join('\n'),
      );
    });

  standby
    .command('list')
    .description('Every declared standby')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }, command: Command) => {
      const context = await cliContext(command);
      const file = await listStandbys(context.config);
      emit(file.standbys, options, (rows) =>
        rows.length === 0
          ? `no standby declared (${file.file}); declare one with: docker-mcp standby add STACK --on HOST --to STANDBY`
          : table(['HOST', 'STACK', 'STANDBY', 'EVERY', 'KEEP'], rows.map((s) => [s.host, s.stack, s.to, s.every, String(s.keep)])),
      );
    });

  standby
    .command('remove')
    .description('Forget the standby of a stack; the copies on the standby are left as they are')
    .argument('<stack>', 'the stack, as declared')
    .requiredOption('--on <host>', 'the host the stack runs on')
    .option('--json', 'machine-readable output')
    .action(async (stack: string, options: { on: string; json?: boolean }, command: Command) => {
      const context = await cliContext(command);
      const forgotten = await forgetStandby(context.config, options.on, stack);
      emit(forgotten, options, (r) => `removed: ${describeStandby(r.removed)}; its copies on ${r.removed.to} are left as they are (${r.file})`);
    });
  standby
    .command('sync')
    .description('One pass now: snapshot every dataset of the stack at once and send what changed to its standby')
    .argument('[stacks...]', 'STACK (on every host it is declared for) or HOST/STACK; default every declared stack')
    .option(BWLIMIT_FLAG, BWLIMIT_HELP)
    .option('--json', 'machine-readable output')
    .action(async (names: string[], options: { json?: boolean; bwlimit?: string }, command: Command) => {
      const bwlimit = options.bwlimit === undefined ? undefined : parseBwlimit(options.bwlimit);
      const context = await cliContext(command);
      // Ctrl-C stops at once: the remote streams end with their connections, a stale lock is
      // taken over, and the next pass continues a broken receive from its receive_resume_token.
      const onProgress = options.json ? undefined : progressView();
      const records = await syncStandbys(context.config, (id) => dockerHostOf(context, id), names, { ...(onProgress ? { onProgress } : {}), ...(bwlimit ? { bwlimit } : {}) });
      emit(records, options, renderPass);
      if (records.some((r) => !r.ok)) process.exitCode = 1;
    });

  standby
    .command('run')
    .description(
      'Run the passes on their schedule until stopped (SIGTERM or Ctrl-C ends the pass under way; the next pass continues it). ' +
        'A stack is due its interval after its last pass, as recorded in the state directory: after a reboot or a long stop, an overdue stack gets one pass at once. ' +
        'standby.yml is read again before each round. A failed pass is tried again within 5 minutes',
    )
    .option('--once', 'run the passes that are due now, then exit (for cron); exit 1 if one failed or was skipped')
    .option(BWLIMIT_FLAG, BWLIMIT_HELP)
    .option('--json', 'one JSON line per pass')
    .action(async (options: { once?: boolean; json?: boolean; bwlimit?: string }, command: Command) => {
      const bwlimit = options.bwlimit === undefined ? undefined : parseBwlimit(options.bwlimit);
      const context = await cliContext(command);
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        process.stderr.write(`\ndocker-mcp: ${signal}: stopping the scheduler; a pass under way is ended, the next run continues it\n`);
        stop.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let failed = false;
      try {
        await runScheduler(context.config, (id) => dockerHostOf(context, id), {
          once: options.once === true,
          signal: stop.signal,
          ...(bwlimit ? { bwlimit } : {}),
          onPass: (record) => {
            failed ||= !record.ok;
            process.stdout.write(options.json ? `${JSON.stringify(record)}\n` : `${new Date().toISOString()} ${renderPass([record])}\n`);
          },
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      if (options.once && failed) process.exitCode = 1;
    });

  standby
    .command('status')
    .description('Per declared stack: the time of the newest snapshot on its standby (writes after it are what a lost host loses), the lag, the last pass')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }, command: Command) => {
      const rows = await statuses(command);
      emit(rows, options, renderStatus);
    });

  standby
    .command('check')
    .description('Exit 2 (CRITICAL) when a stack is behind twice its interval, its last pass failed or it was never copied; 1 (WARNING) when late; 0 otherwise, as monitoring plugins do')
    .action(async (_options: unknown, command: Command) => {
      const outcome = standbyCheck(await statuses(command));
      process.stdout.write(`${outcome.line}\n`);
      process.exitCode = outcome.exitCode;
    });
}

async function statuses(command: Command): Promise<StandbyStatus[]> {
  const { config } = await cliContext(command);
  // A host a stack was failed over from is fenced first, as on any contact: a monitoring check fences it as soon as it is back.
  for (const line of await fencePendingHosts(config)) process.stderr.write(`${line}\n`);
  return standbyStatuses(config);
}

function renderPass(records: readonly StandbyPassRecord[]): string {
  if (records.length === 0) return 'no standby declared; declare one with: docker-mcp standby add STACK --on HOST --to STANDBY';
  return records
    .map((r) => {
      if (r.skipped) return `skipped: ${r.host}/${r.stack}: ${r.error}`;
      if (r.unchanged) return `up to date: ${r.host}/${r.stack} → ${r.to} @${r.snapshot}: nothing written since, nothing sent\n  the standby holds the data as of ${r.confirmed?.at ?? '?'}`;
      const head = `${r.ok ? 'copied' : 'FAILED'}: ${r.host}/${r.stack} → ${r.to}${r.snapshot ? ` @${r.snapshot}` : ''}, ${formatBytes(r.bytes)} in ${r.seconds.toFixed(1)} s`;
      const lines = r.datasets.map((d) => `  ${d.service}: ${d.error ? `failed: ${d.error}` : `${d.mode}${d.resumed ? ' (resumed)' : ''} ${d.sourceDataset ? `${d.sourceDataset} ` : ''}→ ${d.standbyDataset ?? d.standbyPath ?? '?'}, ${formatBytes(d.bytes)}`}`);
      const staged = r.stagedFolder ? [`  staged: the stack folder at ${r.stagedFolder}${(r.imagesCarried ?? []).length > 0 ? `, images ${(r.imagesCarried ?? []).join(', ')}` : ''}`] : [];
      const volumes = (r.volumesStaged ?? []).map((v) => `  staged: named volume ${v.volume} at ${v.file}, ${formatBytes(v.bytes)} of tar`);
      return [
        head,
        ...lines,
        ...staged,
        ...volumes,
        ...(r.error && (r.datasets.length === 0 || r.datasets.every((d) => !d.error)) ? [`  ${r.error}`] : []),
        ...(r.pruned.length > 0 ? [`  pruned: ${r.pruned.join(', ')}`] : []),
        ...r.warnings.map((w) => `  warning: ${w}`),
        `  the standby holds the data as of ${r.confirmed?.at ?? 'nothing yet'}`,
      ].join('\n');
    })
    .join('\n');
}

function renderStatus(rows: readonly StandbyStatus[]): string {
  if (rows.length === 0) return 'no standby declared; declare one with: docker-mcp standby add STACK --on HOST --to STANDBY';
  return table(
    ['HOST', 'STACK', 'STANDBY', 'EVERY', 'STATE', 'DATA AS OF', 'LAG', 'LAST PASS', 'ERROR'],
    rows.map((s) => [
      s.host,
      s.stack,
      s.to,
      s.every,
      s.failedOver ? `${s.state} to ${s.to}${s.failedOver.diverged ? `, ${s.host} DIVERGED` : ''}` : s.state,
      s.confirmedAt ?? '-',
      s.lagSeconds === null ? '-' : `${Math.round(s.lagSeconds)} s`,
      s.lastPassAt === null ? '-' : `${s.lastPassOk ? 'ok' : 'failed'} ${formatBytes(s.lastPassBytes ?? 0)}`,
      s.error ?? '',
    ]),
  );
}

function describeStandby(s: StandbyDeclaration): string {
  return `${s.host}/${s.stack} → standby ${s.to}, every ${s.every}, keeping ${s.keep} snapshots`;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(count)) throw new InvalidInputError('keep', value, 'must be a whole number');
  return count;
}
