/**
 * Checks made before anything stops: a refusal here leaves both hosts exactly
 * as they were.
 */
import { listStacks } from '../docker/stacks.js';
import type { DockerHost } from '../docker/docker-host.js';
import { parseDfFreeBytes } from '../host/parsers.js';
import { command } from '../ssh/quote.js';
import { directoryIsEmpty, pathKind } from '../zfs/path-kind.js';
import { datasetForPath, serviceDatasetLayout } from '../zfs/service-dataset.js';
import { ZfsHost } from '../zfs/zfs-host.js';
import { MigrationRefusedError } from './errors.js';
import type { MigrationPlan } from './plan.js';
import { missingImages } from './stream-copy.js';

export interface PreflightResult {
  readonly dataBytes: number;
  readonly targetFreeBytes: number | null;
  /** Images the target lacks, which the source has and will be carried. */
  readonly imagesToCarry: readonly string[];
  /** Mounts that stay behind on the source, moved anyway with --force. */
  readonly forcedNotMoved: readonly string[];
  readonly targetBefore: readonly TargetPathBefore[];
}

/**
 * What was at a data path on the target before the migration: a rollback
 * removes only what the migration created (`missing` before; an empty
 * directory is emptied again), never what was there.
 */
export interface TargetPathBefore {
  readonly targetPath: string;
  readonly method: 'zfs' | 'rsync';
  /** The dataset the path maps to on the target (zfs). */
  readonly dataset: string | null;
  readonly state: 'missing' | 'empty-directory' | 'present';
}

export interface PreflightContext {
  /**
   * The stack's last successful migration went from this target to this
   * source: what is left on the target (stopped stack folder, data) is that
   * migration's stale copy, and moving back replaces it.
   */
  readonly movingBack: boolean;
  /** Refuse only what --force can safely override (see the messages). */
  readonly force?: boolean;
  /** Target paths an earlier run of this same migration created (a resume): not someone else's data. */
  readonly ownTargetPaths?: readonly string[];
}

export async function preflight(plan: MigrationPlan, source: DockerHost, target: DockerHost, context: PreflightContext = { movingBack: false }): Promise<PreflightResult> {
  const refuse = (reason: string): never => {
    throw new MigrationRefusedError(`migration of ${plan.stack} from ${plan.source} to ${plan.target} refused (nothing was changed): ${reason}`);
  };
  const notMoved = plan.notMoved.map((m) => `${m.service}: ${m.source} (${m.reason})`);
  if (notMoved.length > 0 && !context.force) {
    refuse(
      `these mounts would not move with it: ${notMoved.join('; ')}. ` +
        `With --force the stack moves without them: their data stays on ${plan.source}, untouched, and on ${plan.target} ` +
        'the services start with empty named volumes and whatever is at those paths there',
    );
  }
  const targetStacks = await listStacks(target);
  const existing = targetStacks.find((s) => s.name === plan.stack);
  const leftByMoveAway = context.movingBack && existing?.foundIn === 'folder';
  if (existing && !leftByMoveAway) {
    refuse(
      `${plan.target} already has a stack "${plan.stack}" (${existing.foundIn === 'folder' ? existing.composeFile : 'in its engine'}). ` +
        `--force does not apply: it would replace a stack that docker-mcp did not leave there. Remove or rename it on ${plan.target} first`,
    );
  }

  const own = new Set(context.ownTargetPaths ?? []);
  const targetBefore: TargetPathBefore[] = [];
  for (const dataPath of plan.dataPaths) {
    const kind = await pathKind(target.transport, dataPath.targetPath);
    const empty = kind === 'directory' && (await directoryIsEmpty(target.transport, dataPath.targetPath));
    if (dataPath.method === 'zfs') {
      const dataset = datasetForPath(serviceDatasetLayout(target.host), dataPath.targetPath);
      const exists = (await new ZfsHost(target.transport).dataset(dataset)) !== null;
      targetBefore.push({ targetPath: dataPath.targetPath, method: 'zfs', dataset, state: exists ? 'present' : kind === 'missing' ? 'missing' : empty ? 'empty-directory' : 'present' });
      // zfs refuses a foreign dataset itself, before anything stops.
      continue;
    }
    targetBefore.push({ targetPath: dataPath.targetPath, method: 'rsync', dataset: null, state: kind === 'missing' ? 'missing' : empty ? 'empty-directory' : 'present' });
    // Moving back, rsync replaces the stale copy.
    if (context.movingBack || own.has(dataPath.targetPath)) continue;
    if (kind === 'directory' && !empty) {
      refuse(
        `${plan.target}:${dataPath.targetPath} already holds data, which rsync --delete would replace. ` +
          `--force does not apply: that data is not docker-mcp's and would be lost. Move it away on ${plan.target} first`,
      );
    }
  }

  const sizes = await Promise.all(
    plan.dataPaths.map(async (d) => {
      const result = await source.transport.exec(command(['du', '-sb', '--', d.sourcePath]), { okExitCodes: [0, 1] });
      return Number(/^(\d+)/.exec(result.stdout)?.[1] ?? 0);
    }),
  );
  const dataBytes = sizes.reduce((sum, size) => sum + size, 0);
  const appdata = target.host.appdata_path ?? '/';
  const df = await target.transport.exec(command(['df', '-Pk', appdata]), { okExitCodes: [0, 1] });
  const targetFreeBytes = df.exitCode === 0 ? parseDfFreeBytes(df.stdout) : null;
  if (targetFreeBytes !== null && dataBytes > targetFreeBytes) {
    refuse(
      `${plan.target} has ${targetFreeBytes} bytes free under ${appdata}, the stack's data is ${dataBytes} bytes. ` +
        `--force does not apply: the copy would fill ${plan.target}'s filesystem (hurting what else runs there) and then roll back. Make room first`,
    );
  }

  const lacking = await missingImages(target.transport, plan.images);
  const notOnSource = await missingImages(source.transport, lacking);
  if (notOnSource.length > 0) refuse(`neither host has these images: ${notOnSource.join(', ')} (--force does not apply: the stack could not start)`);
  return { dataBytes, targetFreeBytes, imagesToCarry: lacking, forcedNotMoved: notMoved, targetBefore };
}
