import type { Command } from 'commander';
import { locateStack } from '../../docker/stacks.js';
import { InvalidInputError } from '../../errors.js';
import { declareStandby, loadStandbyFile, removeStandby, writeStandbyFile, type StandbyDeclaration } from '../../standby/declarations.js';
import { readPassRecord, type StandbyPassRecord } from '../../standby/pass-state.js';
import { standbyCheck, standbyStatus, type StandbyStatus } from '../../standby/status.js';
import { runStandbyPass } from '../../standby/sync-pass.js';
import { cliContext, dockerHostOf } from '../context.js';
import { formatBytes } from '../format.js';
import { emit, table } from '../output.js';
import { progressView } from '../progress-view.js';

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
      // The name compose knows the stack by, as migrate uses it.
      const stack = options.check ? (await locateStack(dockerHostOf(context, options.on), stackName)).project : stackName;
      const file = await loadStandbyFile(context.config.location.path);
      const { declaration, replaced } = declareStandby(file, context.config, {
        host: options.on,
        stack,
        to: options.to,
        ...(options.every !== undefined ? { every: options.every } : {}),
        ...(options.keep !== undefined ? { keep: options.keep } : {}),
      });
      await writeStandbyFile(file);
      emit({ declared: declaration, replaced, file: file.path }, options, (r) =>
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
      const file = await loadStandbyFile(context.config.location.path);
      emit([...file.standbys], options, (rows) =>
        rows.length === 0
          ? `no standby declared (${file.path}); declare one with: docker-mcp standby add STACK --on HOST --to STANDBY`
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
      const file = await loadStandbyFile(context.config.location.path);
      const removed = removeStandby(file, options.on, stack);
      if (!removed) {
        const declared = file.standbys.map((s) => `${s.host}/${s.stack}`);
        throw new InvalidInputError('standby', `${options.on}/${stack}`, declared.length > 0 ? `is not declared; declared: ${declared.join(', ')}` : 'is not declared; none is');
      }
      await writeStandbyFile(file);
      emit({ removed, file: file.path }, options, (r) => `removed: ${describeStandby(r.removed)}; its copies on ${r.removed.to} are left as they are (${r.file})`);
    });
  standby
    .command('sync')
    .description('One pass now: snapshot every dataset of the stack at once and send what changed to its standby')
    .argument('[stacks...]', 'STACK (on every host it is declared for) or HOST/STACK; default every declared stack')
    .option('--json', 'machine-readable output')
    .action(async (names: string[], options: { json?: boolean }, command: Command) => {
      const context = await cliContext(command);
      const file = await loadStandbyFile(context.config.location.path);
      const declarations = chosen(file.standbys, names);
      // Ctrl-C stops at once: the remote streams end with their connections, a stale lock is
      // taken over, and the next pass continues a broken receive from its receive_resume_token.
      const onProgress = options.json ? undefined : progressView();
      const records: StandbyPassRecord[] = [];
      for (const declaration of declarations) {
        const source = dockerHostOf(context, declaration.host);
        records.push(await runStandbyPass(source, dockerHostOf(context, declaration.to), declaration, onProgress ? { onProgress } : {}));
      }
      emit(records, options, renderPass);
      if (records.some((r) => !r.ok)) process.exitCode = 1;
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
  const context = await cliContext(command);
  const file = await loadStandbyFile(context.config.location.path);
  const now = new Date();
  return Promise.all(file.standbys.map(async (declaration) => standbyStatus(declaration, await readPassRecord(declaration.host, declaration.stack), now)));
}

/** The declarations named (`STACK` on any host, or `HOST/STACK`), or all of them; an unknown name is an error before anything runs. */
function chosen(standbys: readonly StandbyDeclaration[], names: readonly string[]): StandbyDeclaration[] {
  if (names.length === 0) return [...standbys];
  const declared = standbys.map((s) => `${s.host}/${s.stack}`);
  return names.flatMap((name) => {
    const matching = standbys.filter((s) => name === `${s.host}/${s.stack}` || name === s.stack);
    if (matching.length === 0) {
      throw new InvalidInputError('standby', name, declared.length > 0 ? `is not declared; declared: ${declared.join(', ')}` : 'is not declared; none is');
    }
    return matching;
  });
}

function renderPass(records: readonly StandbyPassRecord[]): string {
  if (records.length === 0) return 'no standby declared; declare one with: docker-mcp standby add STACK --on HOST --to STANDBY';
  return records
    .map((r) => {
      const head = `${r.ok ? 'copied' : 'FAILED'}: ${r.host}/${r.stack} → ${r.to}${r.snapshot ? ` @${r.snapshot}` : ''}, ${formatBytes(r.bytes)} in ${r.seconds.toFixed(1)} s`;
      const lines = r.datasets.map((d) => `  ${d.service}: ${d.error ? `failed: ${d.error}` : `${d.mode}${d.resumed ? ' (resumed)' : ''} ${d.sourceDataset} → ${d.standbyDataset}, ${formatBytes(d.bytes)}`}`);
      return [
        head,
        ...lines,
        ...(r.error && r.datasets.length === 0 ? [`  ${r.error}`] : []),
        ...(r.pruned.length > 0 ? [`  pruned: ${r.pruned.join(', ')}`] : []),
        ...r.warnings.map((w) => `  warning: ${w}`),
        ...(r.notCopied.length > 0 ? [`  not copied: ${r.notCopied.join('; ')}`] : []),
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
      s.state,
      s.confirmedAt ?? '-',
      s.lagSeconds === null ? '-' : `${Math.round(s.lagSeconds)} s`,
      s.lastPassAt === null ? '-' : `${s.lastPassOk ? 'ok' : 'failed'} ${formatBytes(s.lastPassBytes ?? 0)}`,
      s.error ?? '',
    ]),
  );
}

export function describeStandby(s: StandbyDeclaration): string {
  return `${s.host}/${s.stack} → standby ${s.to}, every ${s.every}, keeping ${s.keep} snapshots`;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(count)) throw new InvalidInputError('keep', value, 'must be a whole number');
  return count;
}
