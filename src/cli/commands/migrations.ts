import type { Command } from 'commander';
import { listMigrations, readMigration, type JournalEntry } from '../../migration/journal.js';
import { emit, table } from '../output.js';

export function registerMigrationsCommands(program: Command): void {
  const migrations = program.command('migrations').description('The journal of migrations run from this machine');

  migrations
    .command('list')
    .description('Every migration, oldest first, with its outcome')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const entries = await listMigrations();
      emit(
        entries.map(({ plan: _plan, phases, ...rest }) => ({ ...rest, lastPhase: phases.at(-1)?.phase ?? null })),
        options,
        (rows) =>
          table(
            ['ID', 'STACK', 'FROM', 'TO', 'STATUS', 'LAST PHASE', 'STARTED'],
            rows.map((r) => [r.id, r.stack, r.source, r.target, r.status, r.lastPhase ?? '-', r.createdAt]),
          ),
      );
    });

  migrations
    .command('show')
    .description("One migration: its plan and each phase's state")
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { json?: boolean }) => {
      emit(await readMigration(id), options, renderEntry);
    });
}

function renderEntry(entry: JournalEntry): string {
  return [
    `${entry.id}: ${entry.stack} from ${entry.source} to ${entry.target} — ${entry.status}${entry.detail ? ` (${entry.detail})` : ''}`,
    table(['AT', 'PHASE', 'STATE', 'DETAIL'], entry.phases.map((p) => [p.at, p.phase, p.state, p.detail ?? ''])),
  ].join('\n');
}
