/**
 * A pass with nothing to send: one command on each host proves that the
 * standby already holds the stack as it is now, and the pass ends there, the
 * copy confirmed as of that moment. On the source: no dataset was written
 * since the last pass's snapshot (`written@SNAPSHOT` is 0), and the stack
 * folder and the images its containers run are as they were (a fingerprint);
 * on the standby: that snapshot is there with the source's guid. Anything
 * else, or a zfs without `written@` (zfs-fuse), and the full pass runs.
 */
import { createHash } from 'node:crypto';
import type { DockerHost } from '../docker/docker-host.js';
import { command } from '../ssh/quote.js';
import type { StandbyDeclaration } from './declarations.js';
import type { StandbyPassRecord } from './pass-state.js';

// $1 the stack folder, $2 the compose project; then what follows `--`: the folder's files and the stack's running images, hashed.
const FINGERPRINT_SCRIPT = [
  'echo --',
  '{ cd "$1" 2>/dev/null && find . -type f -exec sha256sum {} + | LC_ALL=C sort; } || echo "no folder"',
  'docker ps -q --filter "label=com.docker.compose.project=$2" | xargs -r docker inspect --format "{{.Name}} {{.Image}}" | LC_ALL=C sort',
].join('\n');

// The same after `zfs get` of written@ and guids; $3 the snapshot's name, the rest datasets then snapshots.
// `zpool sync` first: a property shows the last synced transaction group, so a write of the last few seconds would not count yet.
const CHANGES_SCRIPT = [
  'folder=$1 project=$2 snapshot=$3',
  'shift 3',
  'zpool sync || exit 3',
  'zfs get -H -p -o name,property,value "written@$snapshot,guid" "$@" || exit 3',
  'set -- "$folder" "$project"',
  FINGERPRINT_SCRIPT,
].join('\n');

/** What the fingerprint is taken of, hashed: the text after `--`. */
function fingerprintOf(stdout: string): string {
  const at = stdout.indexOf('--\n');
  return createHash('sha256').update(at < 0 ? stdout : stdout.slice(at)).digest('hex');
}

/** The stack folder's files and the images its containers run, hashed: taken by every full pass before its snapshot. */
export async function stackFingerprint(source: DockerHost, folder: string, project: string): Promise<string> {
  const result = await source.transport.exec(command(['sh', '-c', FINGERPRINT_SCRIPT, 'fingerprint', folder, project]));
  return fingerprintOf(result.stdout);
}

/**
 * The record of a pass that found nothing to send, or null when the full
 * pass must run. `previous`: the last pass's record.
 */
export async function unchangedPass(source: DockerHost, standby: DockerHost, declaration: StandbyDeclaration, previous: StandbyPassRecord | null, started: Date): Promise<StandbyPassRecord | null> {
  if (!previous?.ok || previous.to !== declaration.to || !previous.snapshot || !previous.fingerprint || !previous.sourceFolder) return null;
  // ZFS tells what was written to the datasets, nothing about a named volume: a stack with one takes the full pass.
  if ((previous.volumesStaged ?? []).length > 0) return null;
  const pairs = previous.datasets.map((d) => ({ source: d.sourceDataset, standby: d.standbyDataset }));
  if (pairs.length === 0 || pairs.some((p) => !p.source || !p.standby)) return null;
  const snapshot = previous.snapshot;
  const sources = pairs.map((p) => p.source as string);
  const checkedAt = new Date();
  const [onSource, onStandby] = await Promise.all([
    source.transport.exec(
      command(['sh', '-c', CHANGES_SCRIPT, 'standby-changes', previous.sourceFolder, declaration.stack, snapshot, ...sources, ...sources.map((d) => `${d}@${snapshot}`)]),
      { okExitCodes: [0, 3] },
    ),
    standby.transport.exec(command(['zfs', 'get', '-H', '-p', '-o', 'name,value', 'guid', ...pairs.map((p) => `${p.standby}@${snapshot}`)]), { okExitCodes: [0, 1, 2] }),
  ]);
  if (onSource.exitCode !== 0 || onStandby.exitCode !== 0) return null;
  const values = new Map(onSource.stdout.split('\n').map((line) => line.split('\t')).filter((f) => f.length === 3).map(([name, property, value]) => [`${name} ${property}`, value]));
  const standbyGuids = new Map(onStandby.stdout.split('\n').map((line) => line.split('\t')).filter((f) => f.length === 2).map(([name, value]) => [name, value]));
  const unchanged = pairs.every((p) => {
    const guid = values.get(`${p.source}@${snapshot} guid`);
    return values.get(`${p.source} written@${snapshot}`) === '0' && guid !== undefined && standbyGuids.get(`${p.standby}@${snapshot}`) === guid;
  });
  if (!unchanged || fingerprintOf(onSource.stdout) !== previous.fingerprint) return null;
  const finished = new Date();
  return {
    ...previous,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    unchanged: true,
    bytes: 0,
    seconds: (finished.getTime() - started.getTime()) / 1000,
    datasets: previous.datasets.map((d) => ({ ...d, mode: 'up-to-date', bytes: 0, resumed: false })),
    pruned: [],
    warnings: [],
    imagesCarried: [],
    // Nothing was written since the snapshot: the standby holds the data as it was when checked.
    confirmed: { snapshot, at: checkedAt.toISOString() },
  };
}
