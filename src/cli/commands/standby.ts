import type { Command } from 'commander';
import { locateStack } from '../../docker/stacks.js';
import { InvalidInputError } from '../../errors.js';
import { declareStandby, loadStandbyFile, removeStandby, writeStandbyFile, type StandbyDeclaration } from '../../standby/declarations.js';
import { cliContext, dockerHostOf } from '../context.js';
import { emit, table } from '../output.js';

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
          `${r.replaced ? 'changed' : 'declared'}: ${describe(r.declared)} (${r.file})`,
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
      emit({ removed, file: file.path }, options, (r) => `removed: ${describe(r.removed)}; its copies on ${r.removed.to} are left as they are (${r.file})`);
    });
}

function describe(s: StandbyDeclaration): string {
  return `${s.host}/${s.stack} → standby ${s.to}, every ${s.every}, keeping ${s.keep} snapshots`;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(count)) throw new InvalidInputError('keep', value, 'must be a whole number');
  return count;
}
