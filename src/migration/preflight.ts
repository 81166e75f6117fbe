/**
 * Checks made before anything stops: a refusal here leaves both hosts exactly
 * as they were.
 */
import { listStacks } from '../docker/stacks.js';
import type { DockerHost } from '../docker/docker-host.js';
import { parseDfFreeBytes } from '../host/parsers.js';
import { command } from '../ssh/quote.js';
import { directoryIsEmpty, pathKind } from '../zfs/path-kind.js';
import { MigrationRefusedError } from './errors.js';
import type { MigrationPlan } from './plan.js';
import { missingImages } from './stream-copy.js';

export interface PreflightResult {
  readonly dataBytes: number;
  readonly targetFreeBytes: number | null;
  /** Images the target lacks, which the source has and will be carried. */
  readonly imagesToCarry: readonly string[];
}

export interface PreflightContext {
  /**
   * The stack's last successful migration went from this target to this
   * source: what is left on the target (stopped stack folder, data) is that
   * migration's stale copy, and moving back replaces it.
   */
  readonly movingBack: boolean;
}

export async function preflight(plan: MigrationPlan, source: DockerHost, target: DockerHost, context: PreflightContext = { movingBack: false }): Promise<PreflightResult> {
  const refuse = (reason: string): never => {
    throw new MigrationRefusedError(`migration of ${plan.stack} from ${plan.source} to ${plan.target} refused (nothing was changed): ${reason}`);
  };
  if (plan.notMoved.length > 0) {
    refuse(`these mounts would not move with it: ${plan.notMoved.map((m) => `${m.service}: ${m.source} (${m.reason})`).join('; ')}`);
  }
  const targetStacks = await listStacks(target);
  const existing = targetStacks.find((s) => s.name === plan.stack);
  const leftByMoveAway = context.movingBack && existing?.foundIn === 'folder';
  if (existing && !leftByMoveAway) {
    refuse(`${plan.target} already has a stack "${plan.stack}" (${existing.foundIn === 'folder' ? existing.composeFile : 'in its engine'})`);
  }

  for (const dataPath of plan.dataPaths) {
    // zfs refuses a foreign dataset itself, before anything stops; moving back, rsync replaces the stale copy.
    if (dataPath.method !== 'rsync' || context.movingBack) continue;
    if ((await pathKind(target.transport, dataPath.targetPath)) === 'directory' && !(await directoryIsEmpty(target.transport, dataPath.targetPath))) {
      refuse(`${plan.target}:${dataPath.targetPath} already holds data, which rsync --delete would replace`);
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
    refuse(`${plan.target} has ${targetFreeBytes} bytes free under ${appdata}, the stack's data is ${dataBytes} bytes`);
  }

  const lacking = await missingImages(target.transport, plan.images);
  const notOnSource = await missingImages(source.transport, lacking);
  if (notOnSource.length > 0) refuse(`neither host has these images: ${notOnSource.join(', ')}`);
  return { dataBytes, targetFreeBytes, imagesToCarry: lacking };
}
