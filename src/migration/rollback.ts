/**
 * Undo a migration that failed or was interrupted, from its journal alone, so
 * that the process that started it and a later `--resume` undo the same way.
 * Every step is safe to run twice. What was there before the migration is
 * never removed: the target's data paths are removed only when the journal's
 * inventory says the migration created them, and never with --keep-failed.
 */
import type { DockerHost } from '../docker/docker-host.js';
import { stackAction, stackComposeFile } from '../docker/stacks.js';
import { describeError } from '../errors.js';
import { command } from '../ssh/quote.js';
import { retryWhenUnreachable } from '../ssh/retry.js';
import { pathKind } from '../zfs/path-kind.js';
import { ZfsHost } from '../zfs/zfs-host.js';
import type { JournalEntry } from './journal.js';

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
      await stackAction(target, plan.stack, 'down');
      return `${plan.stack} taken down on ${plan.target}`;
    });
  }

  if (reached.has('stack-folder')) {
    await step(`remove ${plan.target}:${plan.targetStackDir}`, async () => {
      const aside = asideFolder(plan.targetStackDir, plan.id);
      if (await exists(target, aside)) {
        await target.transport.exec(command(['rm', '-rf', '--', plan.targetStackDir]));
        await target.transport.exec(command(['mv', '-T', '--', aside, plan.targetStackDir]));
        return `put the earlier ${plan.target}:${plan.targetStackDir} back`;
      }
      // Moving back and not yet set aside: the folder there is the stale copy, not ours.
      if (entry.movingBack || !(await exists(target, plan.targetStackDir))) return null;
      await target.transport.exec(command(['rm', '-rf', '--', plan.targetStackDir]));
      return `removed ${plan.target}:${plan.targetStackDir}`;
    });
  }

  if (reached.has('seed') || reached.has('final-sync')) {
    const created = (entry.targetBefore ?? []).filter((before) => before.state !== 'present');
    if (keepFailed && created.length > 0) {
      done.push(`kept the data received on ${plan.target} (--keep-failed): ${created.map((c) => c.dataset ?? c.targetPath).join(', ')}`);
    } else {
      const zfs = new ZfsHost(target.transport);
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
          if (before.state === 'empty-directory') {
            await target.transport.exec(command(['find', before.targetPath, '-mindepth', '1', '-delete']));
            return `emptied ${plan.target}:${before.targetPath} again`;
          }
          await target.transport.exec(command(['rm', '-rf', '--', before.targetPath]));
          return `removed the copy ${plan.target}:${before.targetPath}`;
        });
      }
    }
    const kept = (entry.targetBefore ?? []).filter((before) => before.state === 'present');
    if (kept.length > 0) done.push(`kept ${kept.map((k) => `${plan.target}:${k.dataset ?? k.targetPath}`).join(', ')}: there before this migration`);
  }

  if (reached.has('stop')) {
    await step(`start ${plan.stack} on ${plan.source} again`, async () => {
      await stackAction(source, plan.stack, 'up');
      return `${plan.stack} started again on ${plan.source}`;
    });
  }
  return done;
}
