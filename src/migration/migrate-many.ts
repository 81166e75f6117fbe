/**
 * Move several stacks from one host to another, a bounded number at a time
 * (and no more than the process-wide migration slots allow).
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

export async function migrateStacks(
  source: DockerHost,
  target: DockerHost,
  stacks: readonly string[],
  options: MigrationOptions & { readonly concurrency?: number } = {},
): Promise<StackMigrationResult[]> {
  const { concurrency = 2, id: _ignored, ...each } = options;
  const limit = pLimit(concurrency);
  return Promise.all(
    stacks.map((stack) =>
      limit(async (): Promise<StackMigrationResult> => {
        try {
          return { stack, ok: true, report: await migrationSlots.run(() => migrateStack(source, target, stack, each)) };
        } catch (error) {
          return { stack, ok: false, error: { kind: error instanceof DockerMcpError ? error.kind : 'failed', message: describeError(error) } };
        }
      }),
    ),
  );
}
