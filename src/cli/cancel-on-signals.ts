/**
 * Ctrl-C (SIGINT) or SIGTERM during `docker-mcp migrate`: the first cancels
 * the migration as an MCP cancel does (its transfers are ended, what it did
 * is rolled back, its key taken away), and the command then exits with the
 * rollback's report. A second one exits at once, naming what is left and the
 * `--resume` that finishes it.
 */
import type { ProgressListener } from '../transfer/progress.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const SIGNAL_NUMBERS: Record<(typeof SIGNALS)[number], number> = { SIGINT: 2, SIGTERM: 15 };

export interface MigrationCancel {
  readonly signal: AbortSignal;
  /** The migration's id, once its journal is written (or at once, for a resume). */
  named(migrationId: string): void;
  /** Passes events on, noting the phase reached (for the message of a second signal). */
  watching(listener?: ProgressListener): ProgressListener;
  /** Stop listening for the signals (the migration ended). */
  dispose(): void;
}

/** Where the signals come from and the words go: the process itself, but for a unit test. */
export interface SignalSource {
  on(event: (typeof SIGNALS)[number], listener: (signal: (typeof SIGNALS)[number]) => void): unknown;
  off(event: (typeof SIGNALS)[number], listener: (signal: (typeof SIGNALS)[number]) => void): unknown;
}

export function cancelMigrationOnSignals(
  signals: SignalSource = process,
  write: (text: string) => void = (text) => process.stderr.write(text),
  exit: (code: number) => void = (code) => process.exit(code),
): MigrationCancel {
  const controller = new AbortController();
  let migrationId: string | null = null;
  let phase: string | null = null;
  const onSignal = (received: (typeof SIGNALS)[number]) => {
    if (!controller.signal.aborted) {
      controller.abort();
      write(
        migrationId
          ? `\ndocker-mcp: ${received}: cancelling migration ${migrationId}: ending its transfers, rolling back, taking its key away. Send it again to stop at once.\n`
          : `\ndocker-mcp: ${received}: cancelling the migration before it starts. Send it again to stop at once.\n`,
      );
      return;
    }
    write(
      migrationId
        ? `\ndocker-mcp: ${received} again: stopped at once${phase ? ` in the ${phase} phase` : ''}. Migration ${migrationId} is left as it was: ` +
            'what it made on the target, its stack stopped or running on the source, and its key on the target if it made one (that expires within the hour). ' +
            `"docker-mcp migrate --resume ${migrationId}" finishes it.\n`
        : `\ndocker-mcp: ${received} again: stopped at once; the migration had not started, nothing was changed.\n`,
    );
    exit(128 + SIGNAL_NUMBERS[received]);
  };
  for (const name of SIGNALS) signals.on(name, onSignal);
  return {
    signal: controller.signal,
    named(id) {
      migrationId = id;
    },
    watching(listener) {
      return (event) => {
        if (event.type === 'migration-phase') phase = event.phase;
        listener?.(event);
      };
    },
    dispose() {
      for (const name of SIGNALS) signals.off(name, onSignal);
    },
  };
}
