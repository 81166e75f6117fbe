/**
 * Things copied between two hosts as one stream through this process: a
 * stack folder (tar, verified by manifest) and images (docker save | docker load).
 */
import { hasImage, saveImagesCommand } from '../docker/images.js';
import { volumeHostPath, volumeTarCommand, volumeUntarCommand } from '../docker/volumes.js';
import { command, type ShellCommand } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';
import { DockerMcpError } from '../errors.js';
import { compareManifests, describeDifferences, readManifest } from '../transfer/manifest.js';
import { relay, type RelayLimit } from '../transfer/relay.js';
import type { VerifiedPath } from './journal.js';

/** --bwlimit for what goes through this process. */
export type Throttle = RelayLimit;

/**
 * Copy `sourceDir` to `targetDir` (which must not exist yet), keeping numeric
 * owners, modes, times, hard links, xattrs, POSIX ACLs and holes in sparse files.
 */
export async function copyFolder(
  source: SshTransport,
  sourceDir: string,
  target: SshTransport,
  targetDir: string,
  throttle?: Throttle,
  options: { whileInUse?: boolean } = {},
): Promise<number> {
  await target.exec(command(['mkdir', '-p', '--', targetDir]));
  const receiving = await target.stream(command(['tar', '-C', targetDir, ...TAR_KEEP, '-xpf', '-']), { stdin: 'pipe' });
  const tar = ['tar', '-C', sourceDir, ...TAR_KEEP, '--sparse', ...(options.whileInUse ? ['--ignore-failed-read'] : []), '-cf', '-', '.'];
  // While the stack runs, a file may change or go as tar reads it (its exit 1): the sync after the stop sends it again.
  const sending = await source.stream(options.whileInUse ? toleratingChangedFiles(tar) : command(tar));
  return (await relay(sending, receiving, () => {}, throttle)).bytes;
}

/** `tar …` whose exit 1 (a file changed or went while it read) counts as success: what is read while in use is file by file anyway. */
export function toleratingChangedFiles(tarArgv: readonly string[]): ShellCommand {
  return command(['sh', '-c', '"$@"; status=$?; [ "$status" -eq 1 ] && exit 0; exit "$status"', 'tar', ...tarArgv]);
}

/** Copy the folder, then prove the copy identical by the manifests of both (content hashes included). */
export async function copyStackFolder(source: SshTransport, sourceDir: string, target: SshTransport, targetDir: string): Promise<VerifiedPath> {
  await copyFolder(source, sourceDir, target, targetDir);
  const [before, after] = await Promise.all([readManifest(source, sourceDir), readManifest(target, targetDir)]);
  const differences = compareManifests(before, after);
  if (differences.length > 0) {
    throw new FolderCopyDiffersError(`the copy of ${source.hostId}:${sourceDir} on ${target.hostId}:${targetDir} differs: ${describeDifferences(differences)}`);
  }
  return { path: targetDir, entries: after.entries.size, bytes: after.totalBytes };
}

export class FolderCopyDiffersError extends DockerMcpError {
  readonly kind = 'failed' as const;
}

/** Every extended attribute, not only user.*, which GNU tar restores by default. */
export const TAR_KEEP = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls'];

/** Images among `images` that the host's engine does not have. */
export async function missingImages(host: SshTransport, images: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const image of images) {
    if (!(await hasImage(host, image))) missing.push(image);
  }
  return missing;
}

/** docker save on the source piped into docker load on the target. */
export async function carryImages(source: SshTransport, target: SshTransport, images: readonly string[], throttle?: Throttle): Promise<number> {
  if (images.length === 0) return 0;
  const receiving = await target.stream(command(['docker', 'load', '--quiet']), { stdin: 'pipe' });
  const sending = await source.stream(saveImagesCommand(images));
  return (await relay(sending, receiving, () => {}, throttle)).bytes;
}

/**
 * A named volume's contents, through a helper container on each side: tar on
 * the source piped into an emptied volume of the same name on the target.
 */
export async function copyVolume(
  source: SshTransport,
  sourceImage: string,
  target: SshTransport,
  targetImage: string,
  volume: string,
): Promise<{ readonly bytes: number; readonly keeps: 'xattrs, ACLs and sparse files' | 'owners, modes and times' }> {
  // Where both hosts reach the volume's folder, their own GNU tar copies it, xattrs, ACLs and holes kept.
  const [from, to] = await Promise.all([volumeHostPath(source, volume), volumeHostPath(target, volume)]);
  if (from !== null && to !== null) {
    await target.exec(command(['find', to, '-mindepth', '1', '-maxdepth', '1', '-exec', 'rm', '-rf', '--', '{}', '+']));
    const receiving = await target.stream(command(['tar', '-C', to, ...TAR_KEEP, '-xpf', '-']), { stdin: 'pipe' });
    const sending = await source.stream(command(['tar', '-C', from, ...TAR_KEEP, '--sparse', '-cf', '-', '.']));
    return { bytes: (await relay(sending, receiving, () => {})).bytes, keeps: 'xattrs, ACLs and sparse files' };
  }
  const receiving = await target.stream(volumeUntarCommand(targetImage, volume), { stdin: 'pipe' });
  const sending = await source.stream(volumeTarCommand(sourceImage, volume));
  return { bytes: (await relay(sending, receiving, () => {})).bytes, keeps: 'owners, modes and times' };
}
