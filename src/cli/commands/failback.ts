import type { Command } from 'commander';
import { failback, type FailbackReport } from '../../failover/failback.js';
import { confirmAtTerminal } from '../ask.js';
import { cancelMigrationOnSignals } from '../cancel-on-signals.js';
import { cliContext, dockerHostOf } from '../context.js';
import { emit } from '../output.js';
import { progressView } from '../progress-view.js';

interface FailbackOptions {
  on?: string;
  startTimeout: string;
  yes?: boolean;
  json?: boolean;
}

export function registerFailbackCommand(program: Command): void {
  program
    .command('failback')
    .description(
      'Move a failed-over stack back to the host it ran on, once that host is back: what the host wrote after the snapshot the standby started from is kept there ' +
        '(a dataset of its own), then only what the standby wrote since is sent, by a low-downtime move; the standby keeps the copy again',
    )
    .argument('<stack>', 'the stack, as declared in standby.yml')
    .option('--on <host>', 'the host it was failed over from, when the stack has several declarations')
    .option('--start-timeout <seconds>', 'how long to wait for every service to run on the host', '120')
    .option('--yes', 'do not ask (no terminal, a script)')
    .option('--json', 'machine-readable output')
    .action(async (stack: string, options: FailbackOptions, command: Command) => {
      const context = await cliContext(command);
      await confirmAtTerminal(
        {
          effect: `move ${stack} back from its standby to the host it was failed over from`,
          details: [
            'what that host wrote after the failover snapshot is kept there as a dataset of its own, then its copy is rolled back to that snapshot',
            'the stack stops on the standby for the final sync (a short outage), then runs on its host; the standby keeps the copy again',
          ],
        },
        options.yes === true,
      );
      const cancel = cancelMigrationOnSignals();
      try {
        const onProgress = cancel.watching(options.json ? undefined : progressView());
        const report = await failback(context.config, (id) => dockerHostOf(context, id), {
          stack,
          ...(options.on !== undefined ? { on: options.on } : {}),
          startTimeoutMs: Number(options.startTimeout) * 1000,
          signal: cancel.signal,
          onProgress,
        });
        emit(report, options, renderFailback);
      } finally {
        cancel.dispose();
      }
    });
}

function renderFailback(r: FailbackReport): string {
  return [
    `failed back: ${r.stack} from ${r.from} to ${r.to} in ${r.seconds.toFixed(1)} s (downtime ${r.migration.downtimeSeconds.toFixed(1)} s, migration ${r.migration.id})`,
    `  sent ${r.migration.bytesSent} bytes: what ${r.from} wrote since @${r.commonSnapshot} (${r.migration.modes.join(', ')})`,
    ...r.kept.datasets.map((k) => `  ${r.to}:${k.dataset}: ${k.kept ? `what it wrote after the snapshot (${k.written ?? 'unknown'} bytes) is kept in ${k.kept}` : 'nothing written after the snapshot, nothing to keep'}`),
    ...(r.kept.directory ? [`  ${r.to}:${r.kept.directory}: its old stack folder and volumes`] : []),
    `  standby: ${r.pass.ok ? `${r.from} keeps the copy again, first pass @${r.pass.snapshot} (${r.pass.bytes} bytes)` : `the first pass failed: ${r.pass.error}`}`,
    ...r.notes.map((note) => `  note: ${note}`),
  ].join('\n');
}
