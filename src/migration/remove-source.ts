/**
 * `--remove-source --yes`: once the stack runs on the target, verified, the
 * source's copy goes for good: its stack folder (so nothing starts it again
 * by accident; the target has its own copy) and the moved data paths. Only
 * those: mounts that did not move (forced past pre-flight) stay. Safe to run
 * twice.
 */
import type { DockerHost } from '../docker/docker-host.js';
import { command } from '../ssh/quote.js';
import { pathKind } from '../zfs/path-kind.js';
import { ZfsHost } from '../zfs/zfs-host.js';
import type { MigrationPlan } from './plan.js';

export async function removeSourceCopy(plan: MigrationPlan, source: DockerHost): Promise<string[]> {
  const removed: string[] = [];
  if ((await pathKind(source.transport, plan.sourceStackDir)) !== 'missing') {
    await source.transport.exec(command(['rm', '-rf', '--', plan.sourceStackDir]));
    removed.push(`${plan.source}:${plan.sourceStackDir}`);
  }
  const zfs = source.host.zfs_capable ? new ZfsHost(source.transport) : null;
  const filesystems = zfs ? await zfs.filesystems() : [];
  for (const dataPath of plan.dataPaths) {
    const dataset = filesystems.find((fs) => fs.mountpoint === dataPath.sourcePath);
    if (zfs && dataset) {
      await zfs.destroyDataset(dataset.name);
      removed.push(`${plan.source}:${dataset.name}`);
    } else if ((await pathKind(source.transport, dataPath.sourcePath)) !== 'missing') {
      await source.transport.exec(command(['rm', '-rf', '--', dataPath.sourcePath]));
      removed.push(`${plan.source}:${dataPath.sourcePath}`);
    }
  }
  return removed;
}
