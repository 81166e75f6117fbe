/**
 * One standby pass of one declared stack: every dataset of the stack
 * snapshotted at the same instant, sent to the standby (incrementally from
 * the last snapshot both hold, by guid; continued from a receive_resume_token
 * when an earlier pass broke off), received unmounted and read-only into the
 * datasets a migration to the standby would use, so that a later `migrate`
 * there sends only what changed since. A snapshot is pruned only once a newer
 * one is confirmed on the standby.
 */
import type { DockerHost } from '../docker/docker-host.js';
import { describeError, InvalidInputError } from '../errors.js';
import { planStackMigration } from '../migration/execute.js';
import type { ProgressListener } from '../transfer/progress.js';
import { defaultSnapshotTag, transferServices } from '../transfer/transfer-services.js';
import { SNAPSHOT_PREFIX } from '../transfer/zfs-transfer.js';
import { ensureServiceDataset } from '../zfs/service-dataset.js';
import type { SnapshotInfo } from '../zfs/snapshot-diff.js';
import { ZfsHost } from '../zfs/zfs-host.js';
import type { StandbyDeclaration } from './declarations.js';
import { rsyncPass } from './rsync-pass.js';
import { stageFolderAndImages } from './stage-folder.js';
import { stackFingerprint, unchangedPass } from './unchanged.js';
import { passFailures, passRecordHead, readPassRecord, standbyStateDir, takePassLock, writePassRecord, type StandbyDatasetResult, type StandbyPassRecord } from './pass-state.js';

/** Every snapshot a standby pass takes is named so; nothing else is pruned by a pass. */
export const STANDBY_SNAPSHOT_PREFIX = `${SNAPSHOT_PREFIX}standby-`;

export interface StandbyPassOptions {
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  /** Where the pass records and locks live (default: the state directory's `standby`). */
  readonly stateDir?: string;
  /** Where the migrations' locks live (a pass is refused while one of the stack runs). */
  readonly journalDir?: string;
  /** Bytes a second each dataset's stream may take (`--bwlimit`), as a migration's. */
  readonly bwlimit?: number;
}

/**
 * Run one pass. The lock is taken first (a pass or a migration of the stack
 * already running: refused, thrown). Any later failure is recorded and
 * returned as a record with `ok: false`, the last confirmed snapshot kept.
 */
export async function runStandbyPass(source: DockerHost, standby: DockerHost, declaration: StandbyDeclaration, options: StandbyPassOptions = {}): Promise<StandbyPassRecord> {
  if (source.host.id !== declaration.host || standby.host.id !== declaration.to) {
    throw new InvalidInputError('standby', `${declaration.host}/${declaration.stack}`, `is declared from ${declaration.host} to ${declaration.to}, not ${source.host.id} to ${standby.host.id}`);
  }
  if (declaration.failedOver) {
    throw new InvalidInputError(
      'standby',
      `${declaration.host}/${declaration.stack}`,
      `was failed over to ${declaration.to} at ${declaration.failedOver.at}: ${declaration.to} runs it, and no pass runs from ${declaration.host} until a failback`,
    );
  }
  const dir = options.stateDir ?? standbyStateDir();
  const release = await takePassLock(declaration.host, declaration.stack, dir, options.journalDir);
  const started = new Date();
  try {
    const previous = await readPassRecord(declaration.host, declaration.stack, dir);
    const record = await passOnce(source, standby, declaration, started, previous, options).catch(
      (error: unknown): StandbyPassRecord => ({ ...emptyRecord(declaration, started), error: describeError(error) }),
    );
    // A pass whose data did not arrive confirmed nothing new: the standby still holds what the last good one sent.
    const kept = record.confirmed ? record : { ...record, confirmed: previous?.confirmed ?? null };
    await writePassRecord(kept, dir);
    return kept;
  } finally {
    await release();
  }
}

export function emptyRecord(declaration: StandbyDeclaration, started: Date): StandbyPassRecord {
  return {
    ...passRecordHead(declaration, started, []),
    ok: false,
    error: null,
    snapshot: null,
    snapshotAt: null,
    atomic: null,
    bytes: 0,
    datasets: [],
    pruned: [],
    warnings: [],
    confirmed: null,
  };
}

async function passOnce(source: DockerHost, standby: DockerHost, declaration: StandbyDeclaration, started: Date, previous: StandbyPassRecord | null, options: StandbyPassOptions): Promise<StandbyPassRecord> {
  const bothZfs = [source.host, standby.host].every((host) => host.zfs_capable && host.zfs_dataset);
  if (!bothZfs) return rsyncPass(source, standby, declaration, started, options);
  const unchanged = await unchangedPass(source, standby, declaration, previous, started);
  if (unchanged) {
    options.onProgress?.({ type: 'migration-phase', phase: 'unchanged', message: `nothing written on ${declaration.host} since @${unchanged.snapshot}, which ${declaration.to} holds: nothing to send` });
    return unchanged;
  }
  return zfsPass(source, standby, declaration, started, options);
}

function phaseReporter(options: StandbyPassOptions) {
  return (name: string, message: string) => options.onProgress?.({ type: 'migration-phase', phase: name, message });
}

async function zfsPass(source: DockerHost, standby: DockerHost, declaration: StandbyDeclaration, started: Date, options: StandbyPassOptions): Promise<StandbyPassRecord> {
  const phase = phaseReporter(options);
  phase('plan', `reading ${declaration.stack} on ${declaration.host} as compose resolves it`);
  const plan = await planStackMigration(source, standby, declaration.stack, { method: 'zfs' });
  const paths = plan.dataPaths.filter((p) => p.method === 'zfs').map(({ service, sourcePath, targetPath }) => ({ service, sourcePath, targetPath }));
  if (paths.length === 0) {
    throw new InvalidInputError('stack', declaration.stack, `has no data path under ${declaration.host}'s appdata_path: there is nothing for a standby to copy`);
  }

  const sourceZfs = new ZfsHost(source.transport);
  const standbyZfs = new ZfsHost(standby.transport);
  const [fingerprint, ...prepared] = await Promise.all([
    stackFingerprint(source, plan.sourceStackDir, declaration.stack),
    ...paths.map((p) => ensureServiceDataset(sourceZfs, source.host, p.sourcePath)),
  ]);
  const at = new Date();
  const tag = `standby-${defaultSnapshotTag(at)}`;
  const snapshotName = `${SNAPSHOT_PREFIX}${tag}`;
  const { atomic } = await sourceZfs.snapshotTogether(prepared.map((dataset) => dataset.dataset), snapshotName);
  const count = `${prepared.length} dataset${prepared.length > 1 ? 's' : ''}`;
  phase('snapshot', atomic ? `@${snapshotName} of ${count} at once on ${declaration.host}` : `@${snapshotName} of ${count} on ${declaration.host}, one after another (its zfs takes one snapshot per command)`);

  phase('send', `to ${declaration.to}, received unmounted and read-only`);
  const summary = await transferServices({
    source,
    target: standby,
    services: paths,
    snapshotTag: tag,
    method: 'zfs',
    pruneLater: true,
    standbyCopy: `${declaration.host}/${declaration.stack}`,
    zfs: { source: sourceZfs, target: standbyZfs },
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.bwlimit ? { bwlimit: options.bwlimit } : {}),
  });
  const datasets: StandbyDatasetResult[] = summary.results.map((r) => ({
    service: r.service,
    sourceDataset: r.sourceDataset,
    standbyDataset: r.targetDataset,
    mode: r.mode,
    bytes: r.bytes,
    resumed: r.resumed,
    error: r.error?.message ?? null,
  }));
  const dataOk = summary.results.every((r) => r.ok);
  const ok = dataOk;

  phase('prune', ok ? `keeping the newest ${declaration.keep} on ${declaration.to} and @${snapshotName} on ${declaration.host}` : 'only datasets whose copy arrived');
  const prunes = await Promise.all(
    summary.results
      .filter((r) => r.ok && r.sourceDataset && r.targetDataset)
      .map((r) => pruneAfterConfirmed(sourceZfs, r.sourceDataset as string, standbyZfs, r.targetDataset as string, snapshotName, declaration.keep)),
  );
  const staged = dataOk ? await stageFolderAndImages(source, standby, plan, declaration, options) : null;
  return {
    ...passRecordHead(declaration, started, passFailures(summary.results, staged?.problems ?? [])),
    snapshot: snapshotName,
    snapshotAt: at.toISOString(),
    atomic,
    bytes: summary.bytes,
    datasets,
    pruned: prunes.flatMap((p) => p.pruned),
    warnings: [...prunes.flatMap((p) => p.warnings), ...(staged?.warnings ?? [])],
    volumesStaged: staged?.volumes ?? [],
    stagedCompose: staged?.compose ?? null,
    stagedFolder: staged?.folder ?? null,
    imagesCarried: staged?.imagesCarried ?? [],
    sourceFolder: plan.sourceStackDir,
    fingerprint,
    confirmed: dataOk ? { snapshot: snapshotName, at: at.toISOString() } : null,
  };
}


/**
 * Once `confirmed` arrived on the standby (the transfer checked its guid
 * there): on the source, our standby snapshots older than it go (it is the
 * base of the next incremental); on the standby, all but the newest `keep`.
 */
async function pruneAfterConfirmed(
  source: ZfsHost,
  sourceDataset: string,
  standby: ZfsHost,
  standbyDataset: string,
  confirmed: string,
  keep: number,
): Promise<{ pruned: string[]; warnings: string[] }> {
  const [sourceInfo, standbyInfo] = await Promise.all([source.inspect(sourceDataset), standby.inspect(standbyDataset)]);
  const arrived = standbyInfo.snapshots.find((s) => s.name === confirmed);
  const here = sourceInfo.snapshots.find((s) => s.name === confirmed);
  if (!arrived || !here || arrived.guid !== here.guid) return { pruned: [], warnings: [`${standby.hostId}:${standbyDataset}@${confirmed} is not there: nothing pruned`] };
  const ours = (snapshots: readonly SnapshotInfo[]) => snapshots.filter((s) => s.name.startsWith(STANDBY_SNAPSHOT_PREFIX)).sort((a, b) => a.createtxg - b.createtxg);
  const onSource = ours(sourceInfo.snapshots).filter((s) => s.createtxg < here.createtxg).map((s) => s.name);
  const onStandby = ours(standbyInfo.snapshots).slice(0, -keep).map((s) => s.name).filter((name) => name !== confirmed);
  const warnings = (await Promise.all([source.pruneSnapshots(sourceDataset, onSource), standby.pruneSnapshots(standbyDataset, onStandby)])).flat();
  const pruned = [...onSource.map((name) => `${source.hostId}:${sourceDataset}@${name}`), ...onStandby.map((name) => `${standby.hostId}:${standbyDataset}@${name}`)];
  return { pruned: pruned.filter((name) => !warnings.some((warning) => warning.startsWith(`${name} `))), warnings };
}
