/**
 * Turn a plain directory into its own dataset without losing a byte.
 *
 *   1. refuse while a running container mounts it;
 *   2. rename it aside (`<path>.docker-mcp-converting`, same filesystem: atomic);
 *   3. create the dataset, which mounts at the original path;
 *   4. copy everything back (rsync -aHAXS --numeric-ids: owners, modes, times,
 *      links, hard links, ACLs, xattrs, sparse files);
 *   5. compare manifests of both trees; only when they match, remove the copy aside.
 *
 * Any failure in 3–5 destroys the new (copied) dataset and renames the original
 * back. The host's own state is the journal: a re-run after a crash sees the
 * directory aside and finishes (or the finished dataset and does nothing).
 */
import { command } from '../ssh/quote.js';
import { compareManifests, describeDifferences, readManifest } from '../transfer/manifest.js';
import { containersUsingPath } from '../docker/path-users.js';
import { ConversionError, ServicePathInUseError } from './errors.js';
import { directoryIsEmpty, pathKind } from './path-kind.js';
import type { ZfsHost } from './zfs-host.js';

export const ASIDE_SUFFIX = '.docker-mcp-converting';

export interface ConversionResult {
  readonly dataset: string;
  readonly path: string;
  readonly entries: number;
  readonly bytes: number;
  /** True when a crashed earlier conversion was finished. */
  readonly resumed: boolean;
}

export async function convertDirectoryToDataset(zfs: ZfsHost, path: string, dataset: string): Promise<ConversionResult> {
  const transport = zfs.transport;
  const aside = `${path}${ASIDE_SUFFIX}`;
  const [asideKind, existing] = await Promise.all([pathKind(transport, aside), zfs.dataset(dataset)]);
  const resumed = asideKind === 'directory';

  if (!resumed) {
    if (existing) throw new ConversionError(`on ${zfs.hostId}: ${dataset} already exists; ${path} needs no conversion`);
    const users = await containersUsingPath(transport, path);
    if (users.length > 0) throw new ServicePathInUseError(zfs.hostId, path, users);
    await transport.exec(command(['mv', '-T', '--', path, aside]));
  } else if (existing && !existing.managed) {
    throw new ConversionError(
      `on ${zfs.hostId}: found ${aside} from an interrupted conversion, but ${dataset} was not created by docker-mcp; ` +
        'resolve by hand: the original data is in the directory aside',
    );
  } else if (!existing && (await pathKind(transport, path)) === 'directory' && !(await directoryIsEmpty(transport, path))) {
    throw new ConversionError(
      `on ${zfs.hostId}: found ${aside} from an interrupted conversion and a non-empty ${path} beside it; ` +
        'resolve by hand: the original data is in the directory aside',
    );
  }

  let created = false;
  try {
    if (!existing) {
      // An empty directory left at the mount point would hide nothing, but zfs-fuse refuses to mount over it.
      if ((await pathKind(transport, path)) === 'directory') await transport.exec(command(['rmdir', '--', path]));
      await zfs.createDataset(dataset);
      created = true;
    }
    const state = await zfs.dataset(dataset);
    if (!state?.mounted || state.mountpoint !== path) {
      throw new ConversionError(`on ${zfs.hostId}: ${dataset} is not mounted at ${path} (mountpoint ${state?.mountpoint ?? '?'})`);
    }
    await copyTree(zfs, aside, path);
    const [before, after] = await Promise.all([readManifest(transport, aside), readManifest(transport, path)]);
    const differences = compareManifests(before, after);
    if (differences.length > 0) {
      throw new ConversionError(`on ${zfs.hostId}: the copy of ${path} differs from the original: ${describeDifferences(differences)}`);
    }
    await transport.exec(command(['rm', '-rf', '--', aside]), { timeoutMs: 3_600_000 });
    return { dataset, path, entries: before.entries.size, bytes: before.totalBytes, resumed };
  } catch (error) {
    await restoreOriginal(zfs, path, aside, dataset, created || (resumed && existing?.managed === true));
    throw error;
  }
}

async function copyTree(zfs: ZfsHost, from: string, to: string): Promise<void> {
  const hasRsync = (await zfs.transport.exec(command(['sh', '-c', 'command -v rsync']), { okExitCodes: [0, 1, 127] })).exitCode === 0;
  const copy = hasRsync
    ? command(['rsync', '-aHAXS', '--numeric-ids', '--delete', `${from}/`, `${to}/`])
    : command(['cp', '-a', '--sparse=always', '-T', '--', from, to]);
  await zfs.transport.exec(copy, { timeoutMs: 24 * 3_600_000 });
}

/** Put the original directory back where it was. Only ever removes the copy this conversion made. */
async function restoreOriginal(zfs: ZfsHost, path: string, aside: string, dataset: string, destroyCopy: boolean): Promise<void> {
  const transport = zfs.transport;
  if ((await pathKind(transport, aside)) !== 'directory') return;
  if (destroyCopy && (await zfs.dataset(dataset))?.managed) {
    await zfs.destroyDataset(dataset);
  }
  if ((await pathKind(transport, path)) === 'directory') await transport.exec(command(['rmdir', '--', path]));
  await transport.exec(command(['mv', '-T', '--', aside, path]));
}
