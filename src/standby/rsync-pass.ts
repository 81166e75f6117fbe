/**
 * One standby pass by rsync, for a pair of hosts where either has no ZFS:
 * every data path of the stack copied, with the source's own rsync, into the
 * standby's staging directory (staging.ts), which no stack uses. The source
 * logs in to the standby with a key of the pass's own, which runs only that
 * rsync and is taken away when the pass ends.
 */
import type { DockerHost } from '../docker/docker-host.js';
import { describeError, InvalidInputError } from '../errors.js';
import { planStackMigration } from '../migration/execute.js';
import { issueRouteKey, revokeRouteKey, type RouteKey } from '../transfer/route-key.js';
import { transferServices } from '../transfer/transfer-services.js';
import type { StandbyDeclaration } from './declarations.js';
import { passFailures, passRecordHead, readPassRouteKey, standbyStateDir, writePassRouteKey, type StandbyDatasetResult, type StandbyPassRecord } from './pass-state.js';
import { stagedPathFor, standbyStagingDir } from './staging.js';
import { stageFolderAndImages } from './stage-folder.js';
import type { StandbyPassOptions } from './sync-pass.js';

/** What the record's `confirmed.snapshot` says for a copy by rsync: no snapshot, the directory the copy is in. */
export function rsyncCopyName(stagingDir: string): string {
  return `rsync:${stagingDir}`;
}

export async function rsyncPass(source: DockerHost, standby: DockerHost, declaration: StandbyDeclaration, started: Date, options: StandbyPassOptions): Promise<StandbyPassRecord> {
  const phase = (name: string, message: string) => options.onProgress?.({ type: 'migration-phase', phase: name, message });
  phase('plan', `reading ${declaration.stack} on ${declaration.host} as compose resolves it`);
  const plan = await planStackMigration(source, standby, declaration.stack, { method: 'rsync' });
  const stagingDir = standbyStagingDir(standby.host, declaration.host, declaration.stack);
  const paths = plan.dataPaths.map(({ service, sourcePath, targetPath }) => ({ service, sourcePath, targetPath: stagedPathFor(standby.host, stagingDir, targetPath) }));
  if (paths.length === 0) {
    throw new InvalidInputError('stack', declaration.stack, `has no data path under ${declaration.host}'s appdata_path: there is nothing for a standby to copy`);
  }
  // Every file copied is at least as new as this: what a lost host would lose is what was written after it.
  const at = new Date();
  const dir = options.stateDir ?? standbyStateDir();
  const key = await passRouteKey(source, standby, declaration, dir, options);
  let summary;
  try {
    phase('send', `rsync to ${declaration.to}:${stagingDir}, file by file while ${declaration.stack} runs`);
    summary = await transferServices({
      source,
      target: standby,
      services: paths,
      method: 'rsync',
      ...(key ? { targetFromSource: key.targetFromSource } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.bwlimit ? { bwlimit: options.bwlimit } : {}),
    });
  } finally {
    if (key) await takeAway(key.record, source, standby, declaration, dir, options);
  }
  const datasets: StandbyDatasetResult[] = summary.results.map((r) => ({
    service: r.service,
    sourceDataset: null,
    standbyDataset: null,
    standbyPath: r.targetPath,
    mode: r.mode,
    bytes: r.bytes,
    resumed: false,
    error: r.error?.message ?? null,
  }));
  const dataOk = summary.results.every((r) => r.ok);
  const staged = dataOk ? await stageFolderAndImages(source, standby, plan, declaration, options) : null;
  return {
    ...passRecordHead(declaration, started, passFailures(summary.results, staged?.problems ?? [])),
    snapshot: null,
    snapshotAt: at.toISOString(),
    atomic: false,
    bytes: summary.bytes,
    datasets,
    pruned: [],
    warnings: [
      `copied by rsync file by file while ${declaration.stack} ran: each file is as it was when copied, not all at one instant (a database may need its own recovery on a failover); ZFS on both hosts gives one instant`,
      ...(staged?.warnings ?? []),
    ],
    volumesStaged: staged?.volumes ?? [],
    stagedCompose: staged?.compose ?? null,
    stagedFolder: staged?.folder ?? null,
    imagesCarried: staged?.imagesCarried ?? [],
    confirmed: dataOk ? { snapshot: rsyncCopyName(stagingDir), at: at.toISOString() } : null,
  };
}

/** The pass's own key for the source to reach the standby, after taking away one a killed pass left; null (the standing route is tried) when none can be made. */
async function passRouteKey(source: DockerHost, standby: DockerHost, declaration: StandbyDeclaration, dir: string, options: StandbyPassOptions): Promise<RouteKey | null> {
  const left = await readPassRouteKey(declaration.host, declaration.stack, dir);
  if (left) await takeAway(left, source, standby, declaration, dir, options);
  const issue = await issueRouteKey(`standby-${declaration.host}-${declaration.stack}`, source, standby, (record) => writePassRouteKey(declaration.host, declaration.stack, record, dir));
  if (!issue.issued) {
    options.onProgress?.({ type: 'transfer-step', service: '-', message: `no key of the pass's own for ${declaration.host} → ${declaration.to}: ${issue.reason}` });
    return null;
  }
  return issue.key;
}

async function takeAway(record: RouteKey['record'], source: DockerHost, standby: DockerHost, declaration: StandbyDeclaration, dir: string, options: StandbyPassOptions): Promise<void> {
  try {
    await revokeRouteKey(record, source, standby);
    await writePassRouteKey(declaration.host, declaration.stack, null, dir);
  } catch (error) {
    options.onProgress?.({ type: 'transfer-step', service: '-', message: `could not take the pass's key (${record.marker}) away: ${describeError(error)}; it expires by itself within the hour, and the next pass takes it away` });
  }
}
