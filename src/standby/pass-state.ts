/**
 * What a standby pass leaves on this controller, beside the migrations'
 * journal: the last pass's record per declared stack (read by `standby
 * status` and `standby check`), and the lock that keeps two passes of one
 * stack apart.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { DockerMcpError } from '../errors.js';
import { journalDir, processAlive, stateDir, writeDurably } from '../migration/journal.js';
import { validateHostId, validateStackName } from '../names/validate.js';
import type { RouteKeyRecord } from '../transfer/route-key.js';
import type { StagedCompose } from './stage-folder.js';
import type { StagedVolume } from './stage-volumes.js';

export interface StandbyDatasetResult {
  readonly service: string;
  readonly sourceDataset: string | null;
  readonly standbyDataset: string | null;
  /** A standby by rsync: where the copy is kept on the standby (staging.ts); absent for datasets. */
  readonly standbyPath?: string;
  readonly mode: string | null;
  readonly bytes: number;
  readonly resumed: boolean;
  readonly error: string | null;
}

export interface StandbyPassRecord {
  readonly host: string;
  readonly stack: string;
  readonly to: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly ok: boolean;
  readonly error: string | null;
  /** Not run: another pass (or a migration) of the stack held its lock. Such a record is returned, never written. */
  readonly skipped?: boolean;
  /** The snapshot this pass took of every dataset at once, and when (null: the pass failed before it). */
  readonly snapshot: string | null;
  readonly snapshotAt: string | null;
  /** Whether that snapshot was taken atomically (one `zfs snapshot` per pool); zfs-fuse takes one per command. */
  readonly atomic: boolean | null;
  readonly bytes: number;
  readonly seconds: number;
  readonly datasets: readonly StandbyDatasetResult[];
  /** Our snapshots pruned once a newer one was confirmed on the standby, and those that could not be. */
  readonly pruned: readonly string[];
  readonly warnings: readonly string[];
  /** The stack folder staged on the standby, rewritten for it and checked by its compose (stage-folder.ts); null when not staged. Absent in older records. */
  readonly stagedFolder?: string | null;
  /** Images this pass carried to the standby. */
  readonly imagesCarried?: readonly string[];
  /** How the stack starts from the staged folder (a failover's compose up). Absent in older records. */
  readonly stagedCompose?: StagedCompose | null;
  /** The named volumes this pass staged as tar files on the standby (stage-volumes.ts). Absent in older records. */
  readonly volumesStaged?: readonly StagedVolume[];
  /** Nothing to send: one command on each host proved the standby holds the stack as it is (unchanged.ts). */
  readonly unchanged?: boolean;
  /** The stack folder on the source, and its files and running images hashed before the snapshot: what the next pass compares. */
  readonly sourceFolder?: string;
  readonly fingerprint?: string;
  /**
   * The newest snapshot present on the standby for every dataset of the
   * stack (by guid, checked after the receive): what a failover would start
   * from, so its time is the data that would be lost now. Carried over from
   * the last good pass when this one sent no data; a pass whose data arrived
   * but whose folder or images could not be staged is failed and confirms it.
   */
  readonly confirmed: { readonly snapshot: string; readonly at: string } | null;
}

export class StandbyPassRunningError extends DockerMcpError {
  readonly kind = 'bad-input' as const;
}

export function standbyStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(stateDir(env), 'standby');
}

function baseName(host: string, stack: string): string {
  return `${validateHostId(host)}--${validateStackName(stack)}`;
}

export async function readPassRecord(host: string, stack: string, dir = standbyStateDir()): Promise<StandbyPassRecord | null> {
  try {
    return JSON.parse(await readFile(path.join(dir, `${baseName(host, stack)}.json`), 'utf8')) as StandbyPassRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export async function writePassRecord(record: StandbyPassRecord, dir = standbyStateDir()): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeDurably(path.join(dir, `${baseName(record.host, record.stack)}.json`), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * The stack's pass lock: refused while another pass of it runs, or while a
 * migration of it runs (the pass would snapshot data being moved). A lock
 * whose process is gone is taken over: a pass is safe to run again.
 */
export async function takePassLock(host: string, stack: string, dir = standbyStateDir(), migrations = journalDir()): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const migrationHolder = await lockHolder(path.join(migrations, `${validateStackName(stack)}.lock`));
  if (migrationHolder && alive(migrationHolder.pid)) {
    throw new StandbyPassRunningError(`migration ${migrationHolder.id ?? '?'} of stack ${stack} is running (pid ${migrationHolder.pid}); the pass waits for the next run`);
  }
  const file = path.join(dir, `${baseName(host, stack)}.lock`);
  const mine = JSON.stringify({ pid: process.pid, since: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(mine);
      await handle.close();
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await lockHolder(file);
      if (holder && alive(holder.pid)) {
        throw new StandbyPassRunningError(`a standby pass of ${host}/${stack} is running (pid ${holder.pid}, since ${holder.since ?? '?'}); the passes of one stack never overlap`);
      }
      // Its process is gone: the lock is stale.
      await rm(file, { force: true });
    }
  }
  throw new StandbyPassRunningError(`another process took the standby lock of ${host}/${stack} at the same moment`);
}

async function lockHolder(file: string): Promise<{ pid?: number; id?: string; since?: string } | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    return JSON.parse(text) as { pid?: number; id?: string; since?: string };
  } catch {
    return {};
  }
}

function alive(pid: number | undefined): boolean {
  return pid !== undefined && processAlive(pid);
}

/**
 * The key an rsync pass gave the source for the standby, saved before it is
 * put in place: the next pass takes away one a killed pass left (it also
 * expires by itself within the hour).
 */
export async function readPassRouteKey(host: string, stack: string, dir = standbyStateDir()): Promise<RouteKeyRecord | null> {
  const text = await readFile(path.join(dir, `${baseName(host, stack)}.route-key.json`), 'utf8').catch(() => null);
  return text === null ? null : (JSON.parse(text) as RouteKeyRecord);
}

export async function writePassRouteKey(host: string, stack: string, record: RouteKeyRecord | null, dir = standbyStateDir()): Promise<void> {
  const file = path.join(dir, `${baseName(host, stack)}.route-key.json`);
  if (record === null) return rm(file, { force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeDurably(file, `${JSON.stringify(record, null, 2)}\n`);
}

/** The fields every pass's record opens with; `failed`: what went wrong (none: the pass is ok). */
export function passRecordHead(
  declaration: { readonly host: string; readonly stack: string; readonly to: string },
  started: Date,
  failed: readonly string[],
): Pick<StandbyPassRecord, 'host' | 'stack' | 'to' | 'startedAt' | 'finishedAt' | 'ok' | 'error' | 'seconds'> {
  const finished = new Date();
  return {
    host: declaration.host,
    stack: declaration.stack,
    to: declaration.to,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    ok: failed.length === 0,
    error: failed.length === 0 ? null : failed.join('; '),
    seconds: (finished.getTime() - started.getTime()) / 1000,
  };
}

/** What failed in a pass: each service whose copy did not arrive, and what could not be staged. */
export function passFailures(results: readonly { readonly service: string; readonly ok: boolean; readonly error: { readonly message: string } | null }[], notStaged: readonly string[]): string[] {
  return [...results.filter((r) => !r.ok).map((r) => `${r.service}: ${r.error?.message ?? 'failed'}`), ...notStaged.map((p) => `not staged: ${p}`)];
}
