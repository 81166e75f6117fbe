/**
 * `--remove-source --yes`: once the stack runs on the target, verified, the
 * source's copy goes: only what this migration moved and verified, and only
 * when nothing else depends on it.
 *
 * - the stack folder, when its copy on the target was verified (manifest);
 * - each data path this migration recorded as moved: its dataset (by the name
 *   recorded, still mounted at the path) with docker-mcp's own snapshots, when
 *   it has no child datasets and no snapshots of anyone else; a plain
 *   directory (rsync), when no other filesystem is mounted inside it.
 *
 * - each named volume it copied and verified by checksum manifest, when no
 *   other container (of any stack, running or not) mounts it.
 *
 * A path another container (of another stack, running or stopped) mounts is
 * kept. Whatever is kept is said, with why. Safe to run twice.
 */
import type { DockerHost } from '../docker/docker-host.js';
import { containersMountingPath } from '../docker/path-users.js';
import { RemovalGuard } from '../docker/removal-guard.js';
import { containersUsingVolume, inspectVolume, removeVolume } from '../docker/volumes.js';
import { pathsNotContained } from '../host/containment.js';
import { mountPointsUnder } from '../host/mount-points.js';
import { validateDatasetName } from '../names/validate.js';
import { command } from '../ssh/quote.js';
import { SNAPSHOT_PREFIX } from '../transfer/zfs-transfer.js';
import { pathKind } from '../zfs/path-kind.js';
import { ZfsHost } from '../zfs/zfs-host.js';
import { MigrationRefusedError } from './errors.js';
import type { JournalResults } from './journal.js';
import type { MigrationPlan } from './plan.js';

export interface SourceRemoval {
  /** `host:dataset` or `host:path`, one per thing removed. */
  readonly removed: readonly string[];
  /** What stayed, one sentence each saying why. */
  readonly kept: readonly string[];
}

/** What the migration's journal says it moved and verified. */
export type MovedRecord = Pick<JournalResults, 'final' | 'stackFolderVerified' | 'volumesVerified'>;

const REMOVE_TIMEOUT_MS = 3_600_000;

export async function removeSourceCopy(plan: MigrationPlan, source: DockerHost, moved: MovedRecord): Promise<SourceRemoval> {
  // Checked again: a link made since pre-flight must not point rm -rf elsewhere.
  const escapes = await pathsNotContained(source, plan.dataPaths.map((d) => d.sourcePath));
  if (escapes.length > 0) throw new MigrationRefusedError(`nothing was removed: ${escapes.join('; ')}`);
  const removed: string[] = [];
  const kept: string[] = [];
  const at = (what: string) => `${plan.source}:${what}`;
  const guard = await RemovalGuard.open(source, plan.stack);

  if ((await pathKind(source.transport, plan.sourceStackDir)) !== 'missing') {
    const refused = await guard.refusal(plan.sourceStackDir);
    if (moved.stackFolderVerified?.path !== plan.targetStackDir) {
      kept.push(`${at(plan.sourceStackDir)}: its copy on ${plan.target} was not verified`);
    } else if (refused) {
      kept.push(`${at(plan.sourceStackDir)}: never removed: ${refused}`);
    } else {
      await guard.removeFolder(plan.sourceStackDir, { timeoutMs: REMOVE_TIMEOUT_MS });
      removed.push(at(plan.sourceStackDir));
    }
  }

  const zfs = new ZfsHost(source.transport);
  for (const { sourcePath } of plan.dataPaths) {
    const result = moved.final?.results.find((r) => r.sourcePath === sourcePath && r.ok);
    if (!result) {
      kept.push(`${at(sourcePath)}: this migration did not record moving it`);
      continue;
    }
    const users = await containersMountingPath(source.transport, sourcePath, { exceptStack: plan.stack });
    if (users.length > 0) {
      kept.push(`${at(sourcePath)}: other containers mount it (${users.join(', ')})`);
      continue;
    }
    const outcome = result.method === 'zfs' && result.sourceDataset
      ? await removeMovedDataset(zfs, result.sourceDataset, sourcePath)
      : await removeMovedDirectory(source, guard, sourcePath);
    if (outcome.removed) removed.push(at(outcome.removed));
    if (outcome.kept) kept.push(at(outcome.kept));
  }
  for (const volume of (plan.volumes ?? []).filter((v) => v.handling === 'copy')) {
    if ((await inspectVolume(source.transport, volume.name)) === null) continue;
    if (!moved.volumesVerified?.some((v) => v.volume === volume.name)) {
      kept.push(`volume ${at(volume.name)}: this migration did not record copying and verifying it`);
      continue;
    }
    const users = await containersUsingVolume(source.transport, volume.name);
    if (users.length > 0) {
      kept.push(`volume ${at(volume.name)}: other containers mount it (${users.join(', ')})`);
      continue;
    }
    await removeVolume(source.transport, volume.name);
    removed.push(`volume ${at(volume.name)}`);
  }
  return { removed, kept };
}

type Outcome = { readonly removed?: string; readonly kept?: string };

/** The dataset the migration sent, with docker-mcp's snapshots; never its children or anyone else's snapshots. */
async function removeMovedDataset(zfs: ZfsHost, dataset: string, path: string): Promise<Outcome> {
  const { state, snapshots } = await zfs.inspect(dataset);
  if (!state) return {};
  if (!state.mounted || state.mountpoint !== path) return { kept: `${dataset}: no longer mounted at ${path} (mountpoint ${state.mountpoint})` };
  const listed = await zfs.transport.exec(command(['zfs', 'list', '-H', '-o', 'name', '-r', validateDatasetName(dataset)]));
  const children = listed.stdout.split('\n').filter((name) => name.startsWith(`${dataset}/`));
  const foreign = snapshots.filter((s) => !s.name.startsWith(SNAPSHOT_PREFIX)).map((s) => `@${s.name}`);
  const reasons = [
    ...(children.length > 0 ? [`it has child datasets (${children.join(', ')})`] : []),
    ...(foreign.length > 0 ? [`it has snapshots docker-mcp did not make (${foreign.join(', ')})`] : []),
  ];
  if (reasons.length > 0) return { kept: `${dataset}: ${reasons.join(' and ')}` };
  const notPruned = await zfs.pruneSnapshots(dataset, snapshots.map((s) => s.name));
  if (notPruned.length > 0) return { kept: `${dataset}: ${notPruned.join('; ')}` };
  await zfs.destroyDataset(dataset, { recursive: false });
  return { removed: dataset };
}

async function removeMovedDirectory(source: DockerHost, guard: RemovalGuard, path: string): Promise<Outcome> {
  if ((await pathKind(source.transport, path)) === 'missing') return {};
  const mounts = await mountPointsUnder(source.transport, path);
  if (mounts.length > 0) return { kept: `${path}: other filesystems are mounted in it (${mounts.join(', ')})` };
  const refused = await guard.refusal(path);
  if (refused) return { kept: `${path}: never removed: ${refused}` };
  await guard.removeFolder(path, { timeoutMs: REMOVE_TIMEOUT_MS });
  return { removed: path };
}
