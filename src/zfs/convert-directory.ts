/**
 * Turn a plain directory into its own dataset without losing a byte.
 *
 *   1. refuse while a running container mounts it, while another filesystem
 *      is mounted inside it, or while its parent dataset has no room for a
 *      second copy (allocated size, so sparse files count as what they hold);
 *   2. rename it aside (`<path>.docker-mcp-converting`, same filesystem: atomic);
 *   3. create the dataset, which mounts at the original path;
 *   4. copy everything back (rsync -aHAXS --numeric-ids -x: owners, modes, times,
 *      links, hard links, ACLs, xattrs, sparse files, never another filesystem);
 *   5. compare manifests of both trees; only when they match, rename the
 *      original to `<path>.docker-mcp-verified` and remove it.
 *
 * Any failure in 3–5 destroys the new (copied) dataset and renames the original
 * back. From step 5 on the dataset is the data: a failure to remove the
 * verified original leaves it, named as verified, and never undoes the dataset.
 * Nothing is ever deleted from a directory named `.docker-mcp-converting`, so
 * whatever has that name is the complete original. The host's own state is
 * the journal: a re-run after a crash sees the directory aside and finishes
 * (running the same checks as a first run), or sees the finished dataset.
 */
import { containersUsingPath } from '../docker/path-users.js';
import { describeError } from '../errors.js';
import { mountPointsUnder } from '../host/mount-points.js';
import { command } from '../ssh/quote.js';
import { compareManifests, describeDifferences, readManifest } from '../transfer/manifest.js';
import { zfsCommands } from './commands.js';
import { ConversionError, InsufficientSpaceError, MountsInsideError, ServicePathInUseError } from './errors.js';
import { parseBytes, parseProperties } from './parse.js';
import { directoryIsEmpty, pathKind } from './path-kind.js';
import type { DatasetState, ZfsHost } from './zfs-host.js';

export const ASIDE_SUFFIX = '.docker-mcp-converting';
/** The original once the dataset was verified identical to it: only ever removed. */
export const VERIFIED_SUFFIX = '.docker-mcp-verified';

/** Room left on the pool beyond the second copy, so that a conversion never fills it for everyone else. */
const HEADROOM_MIN_BYTES = 64 * 1024 * 1024;
const REMOVE_TIMEOUT_MS = 3_600_000;

export interface ConversionResult {
  readonly dataset: string;
  readonly path: string;
  readonly entries: number;
  readonly bytes: number;
  /** True when a crashed earlier conversion was finished. */
  readonly resumed: boolean;
  /** The verified original that could not be removed (and why), or null. The dataset holds the data either way. */
  readonly leftover: string | null;
}

export async function convertDirectoryToDataset(zfs: ZfsHost, path: string, dataset: string): Promise<ConversionResult> {
  const transport = zfs.transport;
  const aside = `${path}${ASIDE_SUFFIX}`;
  const [asideKind, existing] = await Promise.all([pathKind(transport, aside), zfs.dataset(dataset)]);
  const resumed = asideKind === 'directory';

  if (resumed && existing && !existing.managed) {
    throw new ConversionError(
      `on ${zfs.hostId}: found ${aside} from an interrupted conversion, but ${dataset} was not created by docker-mcp; ` +
        'resolve by hand: the original data is in the directory aside',
    );
  }
  if (resumed && !existing && (await pathKind(transport, path)) === 'directory' && !(await directoryIsEmpty(transport, path))) {
    throw new ConversionError(
      `on ${zfs.hostId}: found ${aside} from an interrupted conversion and a non-empty ${path} beside it; ` +
        'resolve by hand: the original data is in the directory aside',
    );
  }
  if (!resumed && existing) throw new ConversionError(`on ${zfs.hostId}: ${dataset} already exists; ${path} needs no conversion`);
  await refuseUnsafeConversion(zfs, { path, original: resumed ? aside : path, dataset, partialCopy: resumed ? existing : null });
  if (!resumed) await transport.exec(command(['mv', '-T', '--', path, aside]));

  let created = false;
  let verified: { entries: number; bytes: number };
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
    verified = { entries: before.entries.size, bytes: before.totalBytes };
  } catch (error) {
    await restoreOriginal(zfs, path, aside, dataset, created || (resumed && existing?.managed === true));
    throw error;
  }
  // From here on the dataset is the data: nothing below may undo it.
  const leftover = await retireVerifiedOriginal(zfs, path);
  return { dataset, path, ...verified, resumed, leftover };
}

/**
 * Remove what is left of a verified original (`<path>.docker-mcp-verified`)
 * after a conversion whose clean-up failed. Returns what is still left and
 * why, or null when nothing is.
 */
export async function removeVerifiedLeftover(zfs: ZfsHost, path: string, knownKind?: Awaited<ReturnType<typeof pathKind>>): Promise<string | null> {
  const verified = `${path}${VERIFIED_SUFFIX}`;
  if ((knownKind ?? (await pathKind(zfs.transport, verified))) === 'missing') return null;
  const mounts = await mountPointsUnder(zfs.transport, verified);
  if (mounts.length > 0) return `${zfs.hostId}:${verified} (the verified original) was kept: other filesystems are mounted in it (${mounts.join(', ')})`;
  const removal = await zfs.transport
    .exec(command(['rm', '-rf', '--one-file-system', '--', verified]), { okExitCodes: [0, 1], timeoutMs: REMOVE_TIMEOUT_MS })
    .catch((error: unknown) => ({ exitCode: -1, stderr: describeError(error) }));
  if (removal.exitCode === 0) return null;
  return `${zfs.hostId}:${verified} (the verified original; ${path} holds the data) could not be removed entirely: ${removal.stderr.trim().split('\n').slice(-3).join('; ')}. Remove it by hand`;
}

/**
 * Put the directory back as it was before an interrupted conversion, when one
 * is found at `path` (rollback, before the stack may start on it): the copy
 * in the dataset may be partial, the directory aside is the complete original.
 * Returns what was done, or null when there was no interrupted conversion.
 */
export async function undoInterruptedConversion(zfs: ZfsHost, path: string, dataset: string): Promise<string | null> {
  const aside = `${path}${ASIDE_SUFFIX}`;
  if ((await pathKind(zfs.transport, aside)) !== 'directory') return null;
  const state = await zfs.dataset(dataset);
  if (state && !state.managed) {
    throw new ConversionError(`on ${zfs.hostId}: ${aside} is the original of ${path}, but ${dataset} was not created by docker-mcp; resolve by hand`);
  }
  await restoreOriginal(zfs, path, aside, dataset, true);
  return `put ${zfs.hostId}:${path} back as the plain directory it was (its conversion was interrupted)`;
}

/** The checks a first run and a resumed run make alike, before anything changes. */
async function refuseUnsafeConversion(
  zfs: ZfsHost,
  job: { readonly path: string; readonly original: string; readonly dataset: string; readonly partialCopy: DatasetState | null },
): Promise<void> {
  const { transport } = zfs;
  const inUse = [...new Set([...(await containersUsingPath(transport, job.path)), ...(job.original === job.path ? [] : await containersUsingPath(transport, job.original))])];
  if (inUse.length > 0) throw new ServicePathInUseError(zfs.hostId, job.path, inUse);

  await refuseConversionObstacles(zfs, job);
}

/**
 * The checks of a conversion that do not depend on the stack being stopped:
 * pre-flight runs them too, so that such a refusal comes before the stop.
 */
export async function refuseConversionObstacles(
  zfs: ZfsHost,
  job: { readonly path: string; readonly original: string; readonly dataset: string; readonly partialCopy: DatasetState | null },
): Promise<void> {
  const { transport } = zfs;
  const mounts = [
    ...(await mountPointsUnder(transport, job.original)),
    // A resumed copy: the dataset itself is at the path, nothing else may be.
    ...(job.original === job.path ? [] : await mountPointsUnder(transport, job.path, { strictlyUnder: true })),
  ];
  if (mounts.length > 0) throw new MountsInsideError(zfs.hostId, job.original, mounts);

  // The nearest dataset that exists holds the copy: `zfs create -p` makes the ones between.
  const [usage, filesystems] = await Promise.all([transport.exec(command(['du', '-s', '-x', '-B1', '--', job.original])), zfs.filesystems()]);
  const holder = nearestExisting(job.dataset, new Set(filesystems.map((fs) => fs.name)));
  if (holder === null) throw new ConversionError(`on ${zfs.hostId}: no dataset above ${job.dataset} exists to hold it (is the pool imported?)`);
  const space = await transport.exec(zfsCommands.get(holder, ['available']), { joinInFlight: true });
  const allocated = Number(/^(\d+)/.exec(usage.stdout)?.[1] ?? 0);
  const available = parseBytes(parseProperties(space.stdout).get('available'));
  const stillToCopy = Math.max(0, allocated - (job.partialCopy?.referencedBytes ?? 0));
  const needed = stillToCopy + Math.max(HEADROOM_MIN_BYTES, Math.ceil(allocated / 10));
  if (available !== null && needed > available) throw new InsufficientSpaceError(zfs.hostId, job.path, job.dataset, needed, available);
}

/** The closest ancestor of `dataset` that exists, or null. Pure. */
export function nearestExisting(dataset: string, existing: ReadonlySet<string>): string | null {
  for (let at = dataset.lastIndexOf('/'); at > 0; at = dataset.lastIndexOf('/', at - 1)) {
    const parent = dataset.slice(0, at);
    if (existing.has(parent)) return parent;
  }
  return null;
}

async function copyTree(zfs: ZfsHost, from: string, to: string): Promise<void> {
  const hasRsync = (await zfs.transport.exec(command(['sh', '-c', 'command -v rsync']), { okExitCodes: [0, 1, 127] })).exitCode === 0;
  const copy = hasRsync
    ? command(['rsync', '-aHAXS', '-x', '--numeric-ids', '--delete', `${from}/`, `${to}/`])
    : command(['cp', '-a', '-x', '--sparse=always', '-T', '--', from, to]);
  await zfs.transport.exec(copy, { timeoutMs: 24 * 3_600_000 });
}

/** Rename the verified original so its name says so, then remove it. Never throws: the conversion is done. */
async function retireVerifiedOriginal(zfs: ZfsHost, path: string): Promise<string | null> {
  const aside = `${path}${ASIDE_SUFFIX}`;
  const renamed = await zfs.transport
    .exec(command(['mv', '-T', '--', aside, `${path}${VERIFIED_SUFFIX}`]), { okExitCodes: [0, 1] })
    .catch((error: unknown) => ({ exitCode: -1, stderr: describeError(error) }));
  if (renamed.exitCode !== 0) {
    return `${zfs.hostId}:${aside} (the original, verified identical to ${path}) was kept: renaming it failed: ${renamed.stderr.trim()}`;
  }
  return removeVerifiedLeftover(zfs, path);
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
