/**
 * Undo a migration that failed or was interrupted, from its journal alone, so
 * that the process that started it and a later `--resume` undo the same way.
 * Every step is safe to run twice. What was there before the migration is
 * never removed: the target's data paths are removed only when the journal's
 * inventory says the migration created them, and never with --keep-failed;
 * so are the named volumes the journal says it created there.
 */
import type { DockerHost } from '../docker/docker-host.js';
import { stackAction, stackComposeFile } from '../docker/stacks.js';
import { FolderRemovalRefusedError, RemovalGuard, removeFolderGuarded } from '../docker/removal-guard.js';
import { inspectVolume, removeVolume } from '../docker/volumes.js';
import { describeError, InvalidInputError } from '../errors.js';
import { command } from '../ssh/quote.js';
import { retryWhenUnreachable } from '../ssh/retry.js';
import { undoInterruptedConversion } from '../zfs/convert-directory.js';
import { SNAPSHOT_PREFIX } from '../transfer/zfs-transfer.js';
import { pathKind } from '../zfs/path-kind.js';
import { datasetForPath, serviceDatasetLayout, type ServiceDatasetLayout } from '../zfs/service-dataset.js';
import { ZfsHost } from '../zfs/zfs-host.js';
import { listMigrations, type JournalEntry } from './journal.js';
import type { MigrationPlan } from './plan.js';

/** Where a stale stack folder on the target waits while a stack moves back onto it. */
export function asideFolder(targetStackDir: string, id: string): string {
  return `${targetStackDir}.docker-mcp-${id}`;
}

/** The phases this migration started, over every run of it (the first and any resumes). */
export function startedPhases(entry: Pick<JournalEntry, 'phases'>): Set<string> {
  return new Set(entry.phases.filter((p) => p.state === 'started').map((p) => p.phase));
}

/**
 * Take down what started on the target, remove its stack folder (or put the
 * stale one back), remove the data the migration created there unless
 * `keepFailed`, and start the stack on the source again if it was stopped.
 * Returns what was done, one line per step; a step that fails is reported and
 * the others still run.
 */
export async function rollBack(entry: JournalEntry, source: DockerHost, target: DockerHost, keepFailed: boolean): Promise<string[]> {
  const { plan } = entry;
  const reached = startedPhases(entry);
  const done: string[] = [];
  const step = async (what: string, action: () => Promise<string | null>) => {
    try {
      // Every step is idempotent: a host that dropped its connection for a moment gets another try.
      const result = await retryWhenUnreachable(action, { delayMs: 500 });
      if (result) done.push(result);
    } catch (error) {
      done.push(`FAILED to ${what} (${describeError(error)})`);
    }
  };
  const exists = async (host: DockerHost, path: string) => (await pathKind(host.transport, path)) !== 'missing';

  if (reached.has('start')) {
    await step(`take ${plan.stack} down on ${plan.target}`, async () => {
      if (!(await stackComposeFile(target, plan.stack).then(() => true, () => false))) return null;
      await stackAction(target, plan.stack, 'down', { profiles: plan.profiles ?? [] });
      return `${plan.stack} taken down on ${plan.target}`;
    });
  }

  if (reached.has('stack-folder') || reached.has('folder-sync')) {
    await step(folderRemoval(plan), async () => {
      const aside = asideFolder(plan.targetStackDir, plan.id);
      if (await exists(target, aside)) {
        await removeFolderGuarded(target, plan.stack, plan.targetStackDir);
        await target.transport.exec(command(['mv', '-T', '--', aside, plan.targetStackDir]));
        return `put the earlier ${plan.target}:${plan.targetStackDir} back`;
      }
      // Moving back and not yet set aside: the folder there is the stale copy, not ours.
      if (entry.movingBack || !(await exists(target, plan.targetStackDir))) return null;
      await removeFolderGuarded(target, plan.stack, plan.targetStackDir);
      return `removed ${plan.target}:${plan.targetStackDir}`;
    });
  }

  if (reached.has('seed') || reached.has('final-sync')) {
    const zfs = new ZfsHost(target.transport);
    const created = (entry.targetBefore ?? []).filter((before) => before.state !== 'present');
    if (keepFailed && created.length > 0) {
      done.push(`kept the data received on ${plan.target} (--keep-failed): ${created.map((c) => c.dataset ?? c.targetPath).join(', ')}`);
    } else {
      for (const before of created) {
        await step(`remove ${plan.target}:${before.dataset ?? before.targetPath}`, async () => {
          if (before.method === 'zfs' && before.dataset) {
            const state = await zfs.dataset(before.dataset);
            // Only a dataset marked as docker-mcp's: the inventory said nothing was there before.
            if (!state?.managed) return null;
            await zfs.destroyDataset(before.dataset);
            if (before.state === 'empty-directory') await target.transport.exec(command(['mkdir', '-p', '--', before.targetPath]));
            return `removed dataset ${plan.target}:${before.dataset}`;
          }
          if (!(await exists(target, before.targetPath))) return null;
          const guard = await RemovalGuard.open(target, plan.stack);
          if (before.state === 'empty-directory') {
            const refused = await guard.refusal(before.targetPath);
            if (refused) throw new FolderRemovalRefusedError(`refusing to empty ${plan.target}:${before.targetPath}: ${refused}`);
            await target.transport.exec(command(['find', before.targetPath, '-xdev', '-mindepth', '1', '-delete']));
            return `emptied ${plan.target}:${before.targetPath} again`;
          }
          await guard.removeFolder(before.targetPath);
          return `removed the copy ${plan.target}:${before.targetPath}`;
        });
      }
    }
    const kept = (entry.targetBefore ?? []).filter((before) => before.state === 'present');
    if (kept.length > 0) done.push(`kept ${kept.map((k) => `${plan.target}:${k.dataset ?? k.targetPath}`).join(', ')}: there before this migration`);
    if (reached.has('final-sync')) {
      for (const before of kept) {
        const { dataset, standbyOf } = before;
        if (before.method !== 'zfs' || !dataset || !standbyOf) continue;
        await step(`make ${plan.target}:${dataset} a standby copy again`, () => restoreStandbyCopy(zfs, plan.target, dataset, standbyOf, `${SNAPSHOT_PREFIX}${plan.id}`));
      }
    }
    if (entry.movingBack && reached.has('start')) {
      // The start made the stale copy writable again; it stays behind, so it must not drift.
      for (const before of kept) {
        if (before.method !== 'zfs' || !before.dataset || before.standbyOf) continue;
        const dataset = before.dataset;
        await step(`set ${plan.target}:${dataset} readonly again`, async () => ((await zfs.leaveReadonly(dataset)) ? `set ${plan.target}:${dataset} readonly again` : null));
      }
    }
  }

  const createdVolumes = entry.volumesCreated ?? [];
  if (createdVolumes.length > 0 && keepFailed) {
    done.push(`kept the volumes created on ${plan.target} (--keep-failed): ${createdVolumes.join(', ')}`);
  } else {
    for (const volume of createdVolumes) {
      await step(`remove volume ${plan.target}:${volume}`, async () => {
        if ((await inspectVolume(target.transport, volume)) === null) return null;
        await removeVolume(target.transport, volume);
        return `removed volume ${plan.target}:${volume}`;
      });
    }
  }

  if (reached.has('stop')) {
    // Never start the stack on a dataset a conversion was still copying into.
    const notBack = await undoInterruptedConversions(entry, source, done);
    if (notBack.length > 0) {
      done.push(`did NOT start ${plan.stack} on ${plan.source}: ${notBack.join(', ')} could not be put back as before (see above); the original data is in ${notBack.map((p) => `${p}.docker-mcp-converting`).join(', ')}`);
      return done;
    }
    await step(`start ${plan.stack} on ${plan.source} again`, async () => {
      await stackAction(source, plan.stack, 'up', { profiles: plan.profiles ?? [] });
      return `${plan.stack} started again on ${plan.source}`;
    });
  }
  return done;
}

/**
 * A standby's copy that the final sync made the stack's (writable, mounted,
 * unmarked): unmounted, read-only and marked again, so that the next pass
 * goes on from it. What was written there since the final sync's snapshot
 * can only be the failed start's (the copy was read-only until then, and the
 * stack runs on the source again from the same data): rolled back, which
 * the next pass's receive would otherwise refuse. Where zfs cannot tell
 * what was written (zfs-fuse), that receive rolls back itself.
 */
async function restoreStandbyCopy(zfs: ZfsHost, hostId: string, dataset: string, copyOf: string, finalSnapshot: string): Promise<string | null> {
  const { state, snapshots } = await zfs.inspect(dataset);
  if (!state || (state.standbyOf === copyOf && !state.mounted)) return null;
  const written = snapshots.at(-1)?.name === finalSnapshot ? await zfs.writtenSince(dataset, finalSnapshot) : null;
  const rollBackTo = written !== null && written > 0 ? finalSnapshot : undefined;
  await zfs.keepAsStandbyCopy(dataset, copyOf, state.mounted, rollBackTo ? { rollBackTo } : {});
  return `made ${hostId}:${dataset} a standby copy of ${copyOf} again${rollBackTo ? ` (rolled back to @${rollBackTo}, what the stack was stopped with)` : ''}`;
}

/** Put back every source data path whose conversion into a dataset was interrupted; returns the paths that could not be. */
async function undoInterruptedConversions(entry: JournalEntry, source: DockerHost, done: string[]): Promise<string[]> {
  if (!source.host.zfs_capable || !source.host.zfs_dataset || !source.host.appdata_path) return [];
  const zfs = new ZfsHost(source.transport);
  const layout = serviceDatasetLayout(source.host);
  const notBack: string[] = [];
  for (const { sourcePath } of entry.plan.dataPaths) {
    // A path outside appdata was never converted.
    const dataset = datasetOrNull(layout, sourcePath);
    if (!dataset) continue;
    try {
      const undone = await retryWhenUnreachable(() => undoInterruptedConversion(zfs, sourcePath, dataset), { delayMs: 500 });
      if (undone) done.push(undone);
    } catch (error) {
      done.push(`FAILED to put ${entry.plan.source}:${sourcePath} back as it was before its conversion (${describeError(error)})`);
      notBack.push(sourcePath);
    }
  }
  return notBack;
}

function datasetOrNull(layout: ServiceDatasetLayout, path: string): string | null {
  try {
    return datasetForPath(layout, path);
  } catch (error) {
    if (error instanceof InvalidInputError) return null;
    throw error;
  }
}

/** The rollback step that removes the target's stack folder, as its line in the report names it. */
function folderRemoval(plan: Pick<MigrationPlan, 'target' | 'targetStackDir'>): string {
  return `remove ${plan.target}:${plan.targetStackDir}`;
}

/**
 * The failed migration of this stack from `source` to `target` whose rollback
 * could not remove the stack folder it had copied to the target (say the
 * target was unreachable then): its id, or null. That folder is docker-mcp's,
 * so the next migration may replace it. Only the stack's last ended migration
 * counts, and not one moving back (there the folder was the stale copy, set
 * aside under that migration's id).
 */
export async function folderLeftByFailedRun(stack: string, source: string, target: string, exceptId: string, dir: string): Promise<string | null> {
  const ended = (await listMigrations(dir)).filter((e) => e.stack === stack && e.id !== exceptId && e.status !== 'running' && e.status !== 'refused');
  const last = ended.at(-1);
  if (!last || last.status !== 'failed' || last.movingBack || last.source !== source || last.target !== target) return null;
  const rolledBack = last.phases.filter((p) => p.phase === 'rollback' && p.state === 'done').at(-1)?.detail ?? '';
  return rolledBack.includes(`FAILED to ${folderRemoval(last.plan)}`) ? last.id : null;
}
