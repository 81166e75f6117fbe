/**
 * The standby's copies made the stack's own data, as of the last snapshot
 * every dataset holds (the pass record's `confirmed`): an unfinished receive
 * is discarded first, each dataset rolled back to that snapshot, then made
 * writable, mountable at boot, unmarked and mounted at the standby's appdata
 * path. A snapshot newer than it that is not docker-mcp's stops the
 * failover: someone else made it, and rolling back would destroy it.
 * By rsync, each staged copy is moved into the path a migration would use.
 */
import path from 'node:path';
import type { DockerHost } from '../docker/docker-host.js';
import { DockerMcpError } from '../errors.js';
import { relativePathInside } from '../names/validate.js';
import { command } from '../ssh/quote.js';
import type { StandbyPassRecord } from '../standby/pass-state.js';
import { mountChecked, SNAPSHOT_PREFIX } from '../transfer/zfs-transfer.js';
import { zfsCommands } from '../zfs/commands.js';
import { ZfsHost } from '../zfs/zfs-host.js';

export class FailoverRefusedError extends DockerMcpError {
  readonly kind = 'bad-input' as const;
}

/**
 * Datasets by ZFS: each rolled back to `snapshot` and mounted. Returns the
 * datasets. `resuming` (a failover cut off earlier): a dataset no longer
 * marked as a standby copy was brought up by it, and may hold what the stack
 * wrote since: it is only mounted.
 */
export async function bringUpDatasets(standby: DockerHost, record: StandbyPassRecord, snapshot: string, resuming = false): Promise<string[]> {
  const zfs = new ZfsHost(standby.transport);
  const all = record.datasets.map((d) => d.standbyDataset).filter((d): d is string => d !== null);
  const done: string[] = [];
  if (resuming) {
    for (const dataset of all) if (!(await zfs.inspect(dataset)).state?.standbyOf) done.push(dataset);
    for (const dataset of done) await mountChecked(zfs, dataset);
  }
  const datasets = all.filter((d) => !done.includes(d));
  // Every check before any change: a refusal leaves every copy as it was.
  const newerOf = new Map<string, string[]>();
  for (const dataset of datasets) {
    const snapshots = await zfs.snapshots(dataset);
    const at = snapshots.findIndex((s) => s.name === snapshot);
    if (at < 0) throw new FailoverRefusedError(`${standby.host.id} has no ${dataset}@${snapshot}, which every dataset of the stack should hold: nothing was changed`);
    const foreign = snapshots.slice(at + 1).filter((s) => !s.name.startsWith(SNAPSHOT_PREFIX));
    if (foreign.length > 0) {
      throw new FailoverRefusedError(
        `${dataset} on ${standby.host.id} has snapshots newer than @${snapshot} that docker-mcp did not make (${foreign.map((s) => s.name).join(', ')}): ` +
          `rolling back would destroy them. Nothing was changed; keep them elsewhere (zfs send) or destroy them, then run the failover again`,
      );
    }
    newerOf.set(dataset, snapshots.slice(at + 1).map((s) => s.name));
  }
  for (const dataset of datasets) {
    const token = await standby.transport.exec(zfsCommands.get(dataset, ['receive_resume_token']), { okExitCodes: [0, 1, 2] });
    if (token.exitCode === 0 && /receive_resume_token\t[0-9a-f]+-/i.test(token.stdout)) await standby.transport.exec(zfsCommands.abortReceive(dataset));
    // Ours only (checked above): their holds released, they go with the rollback.
    for (const name of newerOf.get(dataset) ?? []) {
      await standby.transport.exec(zfsCommands.release(`${dataset}@${name}`), { okExitCodes: [0, 1] });
      await zfs.destroySnapshot(dataset, name);
    }
    await standby.transport.exec(zfsCommands.rollback(`${dataset}@${snapshot}`));
    await zfs.undoStandbyCopy(dataset);
    await mountChecked(zfs, dataset);
  }
  return all;
}

// $1 the staged copy, $2 the data path: moved only where nothing is yet (or an empty directory); $3 `resuming`: one moved already is done.
const MOVE_SCRIPT = [
  'if [ "$3" = resuming ] && [ ! -e "$1" ] && [ -d "$2" ]; then exit 0; fi',
  '[ -d "$1" ] || { echo "no staged copy at $1" >&2; exit 3; }',
  'if [ -e "$2" ] || [ -L "$2" ]; then',
  '  [ -d "$2" ] && [ ! -L "$2" ] && [ -z "$(ls -A -- "$2")" ] || { echo "$2 holds something" >&2; exit 4; }',
  '  rmdir -- "$2"',
  'fi',
  'mkdir -p -- "$(dirname -- "$2")"',
  'exec mv -T -- "$1" "$2"',
].join('\n');

/** Copies by rsync: each moved from the staging directory to its data path. Returns the data paths. */
export async function bringUpRsyncCopies(standby: DockerHost, record: StandbyPassRecord, stagingDir: string, resuming = false): Promise<string[]> {
  const appdata = standby.host.appdata_path ?? '/';
  const moves = record.datasets.flatMap((d) => (d.standbyPath ? [{ staged: d.standbyPath, target: path.posix.join(appdata, relativePathInside(stagingDir, d.standbyPath, 'staged path')) }] : []));
  for (const move of moves) {
    const result = await standby.transport.exec(command(['sh', '-c', MOVE_SCRIPT, 'failover-move', move.staged, move.target, resuming ? 'resuming' : '']), { okExitCodes: [0, 3, 4] });
    if (result.exitCode !== 0) throw new FailoverRefusedError(`on ${standby.host.id}: ${result.stderr.trim()}: move it away first, then run the failover again`);
  }
  return moves.map((m) => m.target);
}
