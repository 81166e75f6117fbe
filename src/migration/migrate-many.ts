/**
 * Move several stacks off one host, a bounded number at a time (and no more
 * than the process-wide migration slots allow): all to one target, or each
 * to its own (an evacuation).
 * Each stack is its own migration (own journal, lock and rollback); one that
 * fails does not stop or hide the others.
 */
import pLimit from 'p-limit';
import type { DockerHost } from '../docker/docker-host.js';
import { DockerMcpError, describeError, type ErrorKind } from '../errors.js';
import { migrateStack, type MigrationOptions, type MigrationReport } from './execute.js';
import { migrationSlots } from './migration-slots.js';

export type StackMigrationResult =
  | { readonly stack: string; readonly ok: true; readonly report: MigrationReport }
  | { readonly stack: string; readonly ok: false; readonly error: { readonly kind: ErrorKind; readonly message: string } };

/** One stack to move, where to, and what its migration needs beyond the shared options. */
export interface StackMove {
  readonly stack: string;
  readonly target: DockerHost;
  readonly options?: MigrationOptions;
}

export const DEFAULT_CONCURRENCY = 2;

export async function migrateStacks(
  source: DockerHost,
  target: DockerHost,
  stacks: readonly string[],
  options: MigrationOptions & { readonly concurrency?: number } = {},
): Promise<StackMigrationResult[]> {
  return migrateMoves(
    source,
    stacks.map((stack) => ({ stack, target })),
    options,
  );
}

/** Each move in turn of a bounded pool; the results in the order of `moves`. */
export async function migrateMoves(
  source: DockerHost,
  moves: readonly StackMove[],
  options: MigrationOptions & { readonly concurrency?: number } = {},
): Promise<StackMigrationResult[]> {
  const { concurrency = DEFAULT_CONCURRENCY, id: _ignored, ...each } = options;
  const limit = pLimit(concurrency);
  return Promise.all(
    moves.map(({ stack, target, options: own }) =>
      limit(async (): Promise<StackMigrationResult> => {
        try {
          return { stack, ok: true, report: await migrationSlots.run(() => migrateStack(source, target, stack, { ...each, ...own })) };
        } catch (error) {
          return { stack, ok: false, error: { kind: error instanceof DockerMcpError ? error.kind : 'failed', message: describeError(error) } };
        }
      }),
    ),
  );
}
