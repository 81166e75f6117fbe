/**
 * Failback: the stack runs on its standby since a failover, and its old host
 * is back. In order, each step checked before the next:
 *
 *   1. standby.yml says the stack was failed over, and the old host answers
 *      and is fenced (the first contact fences it if no command did yet);
 *   2. what the old host wrote after the snapshot the standby started from
 *      kept there (keep-diverged.ts), each dataset's copy checked before that
 *      dataset is rolled back to the snapshot (it keeps its guid); then
 *      standby.yml records where, so a rerun does not keep twice;
 *   3. a low-downtime migration moves the stack back: its seed and its final
 *      sync send only what the standby wrote since that snapshot;
 *   4. the standby is a standby again: its copies unmounted and read-only,
 *      its folder and volumes gone (the move verified their copies), the
 *      failover cleared from standby.yml, and a pass run at once.
 */
import type { LoadedConfig } from '../config/load.js';
import type { DockerHost } from '../docker/docker-host.js';
import { removeFolderGuarded } from '../docker/removal-guard.js';
import { containersUsingVolume, removeVolume } from '../docker/volumes.js';
import { describeError, InvalidInputError } from '../errors.js';
import { migrateStack, type MigrationReport } from '../migration/execute.js';
import { helperCandidatesOf } from '../migration/preflight.js';
import { validateStackName } from '../names/validate.js';
import type { HostOf } from '../standby/manage.js';
import { clearFailedOver, loadStandbyFile, markFailbackKept, writeStandbyFile, type StandbyDeclaration } from '../standby/declarations.js';
import { readPassRecord, standbyStateDir, takePassLock, type StandbyPassRecord } from '../standby/pass-state.js';
import { runStandbyPass } from '../standby/sync-pass.js';
import { defaultSnapshotTag } from '../transfer/transfer-services.js';
import type { ProgressListener } from '../transfer/progress.js';
import { LEFT_READONLY_PROPERTY, zfsCommands } from '../zfs/commands.js';
import { ZfsHost } from '../zfs/zfs-host.js';
import { fenceHost } from './fence.js';
import { FailbackRefusedError, keepDivergedDatasets, keepStackLeftovers, type KeptDataset } from './keep-diverged.js';

export interface FailbackRequest {
  readonly stack: string;
  /** The host the stack was failed over from, when the stack has several declarations. */
  readonly on?: string;
  readonly startTimeoutMs?: number;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  readonly stateDir?: string;
  readonly journalDir?: string;
}

export interface FailbackReport {
  readonly stack: string;
  /** The standby that ran it, and the host it runs on again. */
  readonly from: string;
  readonly to: string;
  /** The snapshot both held: what was sent is what the standby wrote after it. */
  readonly commonSnapshot: string;
  /** What the old host wrote after that snapshot, kept there. */
  readonly kept: { readonly datasets: readonly KeptDataset[]; readonly directory: string | null; readonly folder: string | null; readonly volumes: readonly string[] };
  readonly migration: { readonly id: string; readonly downtimeSeconds: number; readonly totalSeconds: number; readonly bytesSent: number; readonly modes: readonly string[] };
  /** The pass that made the standby a standby again. */
  readonly pass: { readonly ok: boolean; readonly snapshot: string | null; readonly bytes: number; readonly error: string | null };
  readonly seconds: number;
  readonly notes: readonly string[];
}

function failedOverDeclaration(standbys: readonly StandbyDeclaration[], request: FailbackRequest, file: string): StandbyDeclaration {
  const stack = validateStackName(request.stack);
  const named = standbys.filter((d) => d.stack === stack && (request.on === undefined || d.host === request.on));
  const failed = named.filter((d) => d.failedOver);
  if (failed.length === 0) {
    const declared = named[0];
    throw new InvalidInputError('stack', stack, declared ? `was not failed over (${file}: it runs on ${declared.host}, its standby ${declared.to}): there is nothing to fail back` : `has no standby declared in ${file}`);
  }
  if (failed.length > 1) throw new InvalidInputError('stack', stack, `was failed over from ${failed.map((d) => d.host).join(', ')}: say which with --on`);
  return failed[0] as StandbyDeclaration;
}

export async function failback(config: LoadedConfig, hostOf: HostOf, request: FailbackRequest): Promise<FailbackReport> {
  const began = Date.now();
  const phase = (name: string, message: string) => request.onProgress?.({ type: 'migration-phase', phase: name, message });
  let file = await loadStandbyFile(config.location.path);
  const declared = failedOverDeclaration(file.standbys, request, file.path);
  const { host: primaryId, to: standbyId, stack } = declared;
  const snapshot = declared.failedOver?.snapshot as string;
  if (!declared.failedOver?.runningAt) {
    throw new FailbackRefusedError(`the failover of ${stack} to ${standbyId} did not finish (cut off before every service ran): finish it first with docker-mcp failover ${stack}`);
  }
  if (snapshot.startsWith('rsync:')) {
    throw new FailbackRefusedError(
      `${stack} was failed over by rsync (no ZFS on ${primaryId} or ${standbyId}): failback keeps the old host's writes as ZFS datasets, so it is built for ZFS only. ` +
        `Move it back by hand: copy ${primaryId}'s data paths aside, then docker-mcp migrate ${standbyId} ${primaryId} ${stack}`,
    );
  }

  phase('fence', `reaching ${primaryId}: it must answer, and be fenced for ${stack}`);
  const primaryHost = config.hosts.find((h) => h.id === primaryId);
  if (!primaryHost) throw new InvalidInputError('host', primaryId, `is not in ${config.location.path}`);
  await fenceHost(config, primaryHost, request.stateDir);
  file = await loadStandbyFile(config.location.path);
  const declaration = file.standbys.find((d) => d.host === primaryId && d.stack === stack) as StandbyDeclaration;
  if (!declaration.failedOver?.fencedAt) throw new FailbackRefusedError(`${primaryId} was not fenced for ${stack}: nothing was changed`);

  const dir = request.stateDir ?? standbyStateDir();
  const release = await takePassLock(primaryId, stack, dir, request.journalDir);
  let kept: FailbackReport['kept'];
  let record: StandbyPassRecord | null;
  const [primary, standby] = [await hostOf(primaryId), await hostOf(standbyId)];
  try {
    record = await readPassRecord(primaryId, stack, dir);
    const datasets = (record?.datasets ?? []).map((d) => d.sourceDataset).filter((d): d is string => d !== null);
    if (!record || datasets.length === 0) throw new FailbackRefusedError(`no pass record of ${primaryId}/${stack} names its datasets on ${primaryId}: nothing was changed`);
    const already = declaration.failedOver.failbackKept;
    if (already) {
      phase('keep', `${primaryId}'s own writes were kept by an earlier failback at ${already.at}: ${[...already.datasets, already.directory].filter(Boolean).join(', ') || 'nothing to keep'}`);
      kept = { datasets: datasets.map((dataset) => ({ dataset, kept: already.datasets.find((k) => k.startsWith(`${dataset}-kept-`)) ?? null, written: null })), directory: already.directory, folder: null, volumes: [] };
    } else {
      const stamp = defaultSnapshotTag();
      phase('keep', `keeping what ${primaryId} wrote after @${snapshot}, then rolling its datasets back to it`);
      const volumes = (record.volumesStaged ?? []).map((v) => v.volume);
      const leftovers = await keepStackLeftovers(primary, stack, record.sourceFolder ?? null, volumes, helperCandidatesOf(record.stagedCompose?.images ?? []), stamp);
      const keptDatasets = await keepDivergedDatasets(primary, datasets, snapshot, stamp);
      kept = { datasets: keptDatasets, directory: leftovers.directory, folder: leftovers.folder, volumes: leftovers.volumes };
      markFailbackKept(file, declaration, { at: new Date().toISOString(), datasets: keptDatasets.flatMap((k) => (k.kept ? [k.kept] : [])), directory: leftovers.directory });
      await writeStandbyFile(file);
    }
  } finally {
    await release();
  }

  phase('move', `moving ${stack} back from ${standbyId} to ${primaryId}: only what ${standbyId} wrote since @${snapshot}`);
  const migration = await migrateStack(standby, primary, stack, {
    movingBack: true,
    method: 'zfs',
    ...(request.startTimeoutMs ? { startTimeoutMs: request.startTimeoutMs } : {}),
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
    ...(request.journalDir ? { journalDir: request.journalDir } : {}),
  });

  phase('standby', `${standbyId} keeps the copy again`);
  const notes = await leaveStandbyCopy(standby, primaryId, stack, record?.stagedCompose?.stackDir ?? null, migration);
  file = await loadStandbyFile(config.location.path);
  const settled = file.standbys.find((d) => d.host === primaryId && d.stack === stack) as StandbyDeclaration;
  clearFailedOver(file, settled);
  await writeStandbyFile(file);
  const { failedOver: _cleared, ...again } = settled;
  const pass = await runStandbyPass(primary, standby, again, { ...(request.onProgress ? { onProgress: request.onProgress } : {}), stateDir: dir, ...(request.journalDir ? { journalDir: request.journalDir } : {}) }).catch(
    (error: unknown) => ({ ok: false, snapshot: null, bytes: 0, error: describeError(error) }),
  );
  if (!pass.ok) notes.push(`the first pass from ${primaryId} to ${standbyId} failed (${pass.error}): the schedule tries again, or run docker-mcp standby sync ${stack}`);

  const sent = [...(migration.seed?.results ?? []), ...migration.final.results];
  return {
    stack,
    from: standbyId,
    to: primaryId,
    commonSnapshot: snapshot,
    kept,
    migration: {
      id: migration.id,
      downtimeSeconds: migration.downtimeSeconds,
      totalSeconds: migration.totalSeconds,
      bytesSent: sent.reduce((sum, r) => sum + r.bytes, 0),
      modes: [...new Set(sent.map((r) => `${r.service}: ${r.mode ?? 'none'}`))],
    },
    pass: { ok: pass.ok, snapshot: pass.snapshot, bytes: pass.bytes, error: pass.error },
    seconds: (Date.now() - began) / 1000,
    notes: [
      ...(kept.datasets.some((k) => k.kept) ? [`what ${primaryId} wrote after @${snapshot} is kept in ${kept.datasets.flatMap((k) => (k.kept ? [k.kept] : [])).join(', ')} (unmounted, read-only): docs/failover.md says how to look at it and how to remove it`] : []),
      ...(kept.directory ? [`${primaryId}:${kept.directory} holds its old stack folder and volumes as they were`] : []),
      ...notes,
    ],
  };
}

/**
 * After the move back, the standby's data is the verified source of a
 * move: its datasets become standby copies again (the next pass sends into
 * them incrementally), and its folder and named volumes, whose copies the
 * move verified, go (a standby keeps its folder and volumes staged apart).
 */
async function leaveStandbyCopy(standby: DockerHost, primaryId: string, stack: string, folder: string | null, migration: MigrationReport): Promise<string[]> {
  const notes: string[] = [];
  const zfs = new ZfsHost(standby.transport);
  for (const result of migration.final.results) {
    if (!result.sourceDataset) continue;
    await standby.transport.exec(zfsCommands.inherit(result.sourceDataset, LEFT_READONLY_PROPERTY));
    await zfs.keepAsStandbyCopy(result.sourceDataset, `${primaryId}/${stack}`, true);
  }
  // Verified on the old host (the move's folder-sync) before the stack started there.
  if (folder && migration.stackFolder) {
    await removeFolderGuarded(standby, stack, folder).catch((error: unknown) => notes.push(`${standby.host.id}:${folder} was not removed (${describeError(error)}): remove it by hand, or the next failover refuses`));
  }
  for (const volume of migration.volumes ?? []) {
    const users = await containersUsingVolume(standby.transport, volume.volume);
    if (users.length > 0) notes.push(`${standby.host.id} keeps volume ${volume.volume}: ${users.join(', ')} use it`);
    else await removeVolume(standby.transport, volume.volume);
  }
  return notes;
}
