/**
 * Before a failback, the old host's own copy of the stack is made ready to
 * receive the standby's changes, and what it wrote after the snapshot the
 * standby started from is kept, never destroyed:
 *
 * - each dataset that changed after that snapshot (or whose zfs cannot tell)
 *   is copied whole, on the old host itself, into a sibling dataset
 *   `<dataset>-kept-<time>` (every snapshot after it comes along), checked
 *   by the guid of its newest snapshot, left unmounted and read-only; only
 *   then is the dataset rolled back to that snapshot, keeping its guid, so
 *   the failback sends only the difference;
 * - the stack's named volumes there are kept as tar files, and its folder
 *   is moved aside, both into `<appdata>/.docker-mcp-kept/<stack>-<time>`;
 * - its containers (stopped by the fence, kept from restarting) are removed:
 *   the move back creates them anew.
 */
import path from 'node:path';
import type { DockerHost } from '../docker/docker-host.js';
import { chooseHelperImage, helperRun, inspectVolume } from '../docker/volumes.js';
import { DockerMcpError } from '../errors.js';
import { validateDatasetName, validateSnapshotName, validateStackName } from '../names/validate.js';
import { command, redirect } from '../ssh/quote.js';
import { HOLD_TAG } from '../zfs/commands.js';
import { ZfsHost } from '../zfs/zfs-host.js';

export const KEPT_DIRECTORY = '.docker-mcp-kept';
export const KEPT_FROM_PROPERTY = 'docker-mcp:kept-from';

export class FailbackRefusedError extends DockerMcpError {
  readonly kind = 'bad-input' as const;
}

export interface KeptDataset {
  readonly dataset: string;
  /** Where what it wrote after the snapshot is kept; null when it wrote nothing (nothing to keep). */
  readonly kept: string | null;
  /** Bytes written after the snapshot; null where its zfs cannot tell (then it is kept). */
  readonly written: number | null;
}

export interface KeptOnOldHost {
  readonly datasets: readonly KeptDataset[];
  /** The directory holding the old folder and the volumes' tar files; null when there was neither. */
  readonly directory: string | null;
  readonly folder: string | null;
  readonly volumes: readonly string[];
  readonly containersRemoved: number;
}

// $1 dataset, $2 the snapshot the standby started from, $3 a new snapshot's name, $4 the kept dataset, $5 `-u` or empty, $6 docker-mcp's hold tag.
// Prints `clean <written>` or `kept <written>`; exit 3: no such snapshot, 4: the copy does not match.
const KEEP_SCRIPT = [
  'ds=$1; base=$2; mark=$3; kept=$4; unmounted=$5; tag=$6',
  'zfs list -H -o name "$ds@$base" >/dev/null 2>&1 || { echo "$ds has no @$base" >&2; exit 3; }',
  'zpool sync 2>/dev/null',
  'written=$(zfs get -H -p -o value "written@$base" "$ds" 2>/dev/null) || written=-',
  'case $written in *[!0-9]*|"") written=- ;; esac',
  'newer=$(zfs list -H -t snapshot -o name -s createtxg -d 1 "$ds" | awk -v b="$ds@$base" \'f { print } $0 == b { f = 1 }\')',
  'foreign=$(printf "%s\\n" "$newer" | grep -v "@docker-mcp-" | grep -c . || true)',
  'if [ "$written" = 0 ] && [ "$foreign" = 0 ]; then',
  '  state=clean',
  'else',
  '  zfs snapshot "$ds@$mark" || exit 1',
  '  zfs send "$ds@$base" | zfs receive $unmounted "$kept" || exit 1',
  '  zfs send -I "$ds@$base" "$ds@$mark" | zfs receive $unmounted "$kept" || exit 1',
  '  [ "$(zfs get -H -o value guid "$ds@$mark")" = "$(zfs get -H -o value guid "$kept@$mark")" ] || { echo "$kept@$mark is not $ds@$mark" >&2; exit 4; }',
  '  zfs set canmount=noauto "$kept" && zfs set readonly=on "$kept" && zfs set docker-mcp:kept-from="$ds@$base" "$kept" || exit 1',
  '  if [ "$(zfs get -H -o value mounted "$kept")" = yes ]; then zfs umount "$kept" || exit 1; fi',
  '  state=kept',
  '  newer=$(zfs list -H -t snapshot -o name -s createtxg -d 1 "$ds" | awk -v b="$ds@$base" \'f { print } $0 == b { f = 1 }\')',
  'fi',
  // Only now, every later snapshot copied (or none of another's there): ours released, then the rollback.
  'printf "%s\\n" "$newer" | while read -r s; do [ -z "$s" ] || zfs release "$tag" "$s" 2>/dev/null; done',
  'zfs rollback -r "$ds@$base" || exit 1',
  'echo "$state $written"',
].join('\n');

/** Each dataset's writes after `snapshot` kept, then the dataset rolled back to it. */
export async function keepDivergedDatasets(host: DockerHost, datasets: readonly string[], snapshot: string, stamp: string): Promise<KeptDataset[]> {
  const zfs = new ZfsHost(host.transport);
  const { receiveUnmounted } = await zfs.sendFeatures();
  const kept: KeptDataset[] = [];
  for (const dataset of datasets) {
    validateSnapshotName(`${validateDatasetName(dataset)}@${snapshot}`);
    const keptName = validateDatasetName(`${dataset}-kept-${stamp}`);
    const mark = `docker-mcp-diverged-${stamp}`;
    const result = await host.transport.exec(command(['sh', '-c', KEEP_SCRIPT, 'keep-diverged', dataset, snapshot, mark, keptName, receiveUnmounted ? '-u' : '', HOLD_TAG]), {
      okExitCodes: [0, 3, 4],
      timeoutMs: 6 * 3_600_000,
    });
    if (result.exitCode !== 0) {
      throw new FailbackRefusedError(`on ${host.host.id}: ${result.stderr.trim() || `exit ${result.exitCode}`}: ${dataset} was not rolled back, nothing of it was lost`);
    }
    const [state, written] = result.stdout.trim().split('\n').at(-1)?.split(' ') ?? [];
    kept.push({ dataset, kept: state === 'kept' ? keptName : null, written: written !== undefined && /^\d+$/.test(written) ? Number(written) : null });
  }
  return kept;
}

// $1 the project: its containers removed when none runs; prints how many. Exit 3: one runs.
const REMOVE_CONTAINERS_SCRIPT = [
  'running=$(docker ps -q --filter "label=com.docker.compose.project=$1") || exit 1',
  '[ -z "$running" ] || { echo "$1 runs here: $(docker ps --format "{{.Names}}" --filter "label=com.docker.compose.project=$1" | tr "\\n" " ")" >&2; exit 3; }',
  'all=$(docker ps -aq --filter "label=com.docker.compose.project=$1") || exit 1',
  '[ -z "$all" ] || docker rm $all >/dev/null || exit 1',
  'echo "$all" | grep -c . || true',
].join('\n');

/**
 * The old host's folder, volumes and containers of the stack: volumes kept as
 * tar files and the folder moved into the kept directory, containers removed.
 */
export async function keepStackLeftovers(
  host: DockerHost,
  stack: string,
  folder: string | null,
  volumes: readonly string[],
  helperImages: readonly string[],
  stamp: string,
): Promise<Omit<KeptOnOldHost, 'datasets'>> {
  const project = validateStackName(stack);
  const removed = await host.transport.exec(command(['sh', '-c', REMOVE_CONTAINERS_SCRIPT, 'failback-containers', project]), { okExitCodes: [0, 3] });
  if (removed.exitCode === 3) throw new FailbackRefusedError(`on ${host.host.id}: ${removed.stderr.trim()}: it was started again after the fence; stop it there (docker-mcp fence ${host.host.id}), then run the failback again`);

  const directory = path.posix.join(host.host.appdata_path ?? host.host.compose_path ?? '/', KEPT_DIRECTORY, `${project}-${stamp}`);
  const present = [];
  for (const volume of volumes) if (await inspectVolume(host.transport, volume)) present.push(volume);
  const folderThere = folder !== null && (await host.transport.exec(command(['test', '-d', folder]), { okExitCodes: [0, 1] })).exitCode === 0;
  if (present.length === 0 && !folderThere) return { directory: null, folder: null, volumes: [], containersRemoved: Number(removed.stdout.trim()) || 0 };

  await host.transport.exec(command(['mkdir', '-p', '-m', '0700', '--', path.posix.join(directory, 'volumes')]));
  const keptVolumes: string[] = [];
  if (present.length > 0) {
    const helper = await chooseHelperImage(host.transport, helperImages);
    if (!helper) throw new FailbackRefusedError(`${host.host.id} has none of the stack's images to read its volumes ${present.join(', ')} with: nothing was changed there`);
    for (const volume of present) {
      const file = path.posix.join(directory, 'volumes', `${volume}.tar`);
      await host.transport.exec(redirect(helperRun(helper.image, volume, false, ['tar', '-C', '/v', '-cf', '-', '.']), { stdoutFile: file }), { timeoutMs: 6 * 3_600_000 });
      keptVolumes.push(file);
    }
  }
  let keptFolder: string | null = null;
  if (folderThere && folder !== null) {
    keptFolder = path.posix.join(directory, 'folder');
    await host.transport.exec(command(['mv', '-T', '--', folder, keptFolder]));
  }
  return { directory, folder: keptFolder, volumes: keptVolumes, containersRemoved: Number(removed.stdout.trim()) || 0 };
}
