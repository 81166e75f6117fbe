/**
 * Checks made before anything stops: a refusal here leaves both hosts exactly
 * as they were.
 */
import { containersMountingPath } from '../docker/path-users.js';
import { singleQuotedExpansions } from '../docker/env-flavours.js';
import { hostCompose, knownStacksAndContainers } from '../docker/stacks.js';
import { builtImageName, type BuiltImage } from '../docker/compose-config.js';
import { imageId } from '../docker/images.js';
import { chooseHelperImage, inspectVolume } from '../docker/volumes.js';
import type { DockerHost } from '../docker/docker-host.js';
import { parseDfFreeBytes } from '../host/parsers.js';
import { command } from '../ssh/quote.js';
import { directoryIsEmpty, pathKind } from '../zfs/path-kind.js';
import { datasetForPath, serviceDatasetLayout } from '../zfs/service-dataset.js';
import { refuseConversionObstacles } from '../zfs/convert-directory.js';
import { EncryptedDatasetError, InsufficientSpaceError, MountsInsideError } from '../zfs/errors.js';
import { ZfsHost } from '../zfs/zfs-host.js';
import { pathsNotContained } from '../host/containment.js';
import { PreflightRefusedError } from './errors.js';
import { portConflicts } from './port-conflicts.js';
import type { HostProvidedBind, MigrationPlan } from './plan.js';
import { emptyDirectories, pathTypes } from '../host/path-types.js';
import { missingImages } from './stream-copy.js';
import { allEnded } from './all-ended.js';

export interface PreflightResult {
  readonly dataBytes: number;
  readonly targetFreeBytes: number | null;
  /** Images the target lacks, which the source has and will be carried. */
  readonly imagesToCarry: readonly string[];
  /** Images compose built on the source that the target lacks or has another of: carried, then named as the target's compose names them (`as`). */
  readonly builtToCarry?: readonly { readonly image: string; readonly as: string }[];
  /** Mounts that stay behind on the source, moved anyway with --force. */
  readonly forcedNotMoved: readonly string[];
  /** What the stack binds from the host, found on the target as on the source and left alone: "path (what, kind)". Absent in older journals. */
  readonly hostProvided?: readonly string[];
  readonly targetBefore: readonly TargetPathBefore[];
  /** The named volumes to copy: what was on the target before (a rollback removes only what it created). Absent in older journals. */
  readonly volumes?: readonly VolumeBefore[];
  /** The images the helper containers that copy volumes run, on each host; `carry`: the target's comes from the source. */
  readonly volumeHelpers?: { readonly source: string; readonly target: string; readonly carry: boolean } | null;
}

export interface VolumeBefore {
  readonly name: string;
  /** Absent on the source (the stack never started): nothing to copy; compose creates it empty on the target. */
  readonly onSource: boolean;
  /** The source volume's labels, compose's among them: the target's copy gets the same. */
  readonly labels: Readonly<Record<string, string>>;
  readonly state: 'missing' | 'present';
}

/**
 * What was at a data path on the target before the migration: a rollback
 * removes only what the migration created (`missing` before; an empty
 * directory is emptied again), never what was there.
 */
export interface TargetPathBefore {
  readonly targetPath: string;
  readonly method: 'zfs' | 'rsync';
  /** The dataset the path maps to on the target (zfs). */
  readonly dataset: string | null;
  readonly state: 'missing' | 'empty-directory' | 'present';
  /** The stack the dataset was a standby's copy of, when it was one: a rollback makes it one again. */
  readonly standbyOf?: string;
}

export interface PreflightContext {
  /**
   * The stack's last successful migration went from this target to this
   * source: what is left on the target (stopped stack folder, data) is that
   * migration's stale copy, and moving back replaces it.
   */
  readonly movingBack: boolean;
  /** Refuse only what --force can safely override (see the messages). */
  readonly force?: boolean;
  /** Target paths an earlier run of this same migration created (a resume): not someone else's data. */
  readonly ownTargetPaths?: readonly string[];
  /** A failed migration of this stack between these hosts whose stack folder its rollback could not remove: that folder is docker-mcp's. */
  readonly folderLeftBy?: string | null;
  /** Target volumes an earlier run of this same migration created (a resume). */
  readonly ownVolumes?: readonly string[];
}

export async function preflight(plan: MigrationPlan, source: DockerHost, target: DockerHost, context: PreflightContext = { movingBack: false }): Promise<PreflightResult> {
  const refuse = (reason: string): never => {
    throw new PreflightRefusedError(plan.stack, plan.source, plan.target, reason);
  };
  // Reads that depend on nothing before them start at once; each is still judged in its turn, so the first refusal stays the first.
  const reading = readAhead(plan, source, target);
  if (plan.servicesOutsideConfig && plan.servicesOutsideConfig.length > 0) {
    refuse(
      `${plan.source} runs services of ${plan.stack} that compose's config does not list, even with the profiles their files declare: ${plan.servicesOutsideConfig.join(', ')}` +
        `${plan.profiles && plan.profiles.length > 0 ? ` (read with --profile ${plan.profiles.join(', --profile ')})` : ''}. They would be left behind. ` +
        '--force does not apply. Stop them, or declare them in the compose files the stack was started with, first',
    );
  }
  const envChanges = await envReadDifferently(plan, source, target);
  if (envChanges) refuse(envChanges);
  const notMoved = plan.notMoved.map((m) => `${m.service}: ${m.source} (${m.reason})`);
  if (notMoved.length > 0 && !context.force) {
    refuse(
      `these mounts would not move with it: ${notMoved.join('; ')}. ` +
        `With --force the stack moves without them: their data stays on ${plan.source}, untouched, and on ${plan.target} ` +
        'the services start with empty named volumes and whatever is at those paths there',
    );
  }
  const hostProvided = await checkHostProvided(plan, source, target, refuse);
  const escapes = (
    await Promise.all([
      pathsNotContained(source, plan.dataPaths.map((d) => d.sourcePath)),
      pathsNotContained(target, plan.dataPaths.map((d) => d.targetPath)),
    ])
  ).flat();
  if (escapes.length > 0) {
    refuse(`${escapes.join('; ')}. --force does not apply: docker-mcp would copy, and could later remove, what the link points at. Write the real path in the compose file`);
  }
  const { stacks: known, containers: targetContainers } = await reading.known;
  const targetStacks = known.map((s) => s.summary);
  // By project, or by the folder it would land in (a stopped one there may be named otherwise).
  const existing = targetStacks.find((s) => s.name === plan.stack) ?? targetStacks.find((s) => s.folder === plan.targetStackDir);
  const leftByMoveAway = context.movingBack && existing?.foundIn === 'folder';
  const leftByFailedRun = Boolean(context.folderLeftBy) && existing?.foundIn === 'folder';
  if (existing && !leftByMoveAway && !leftByFailedRun) {
    refuse(
      `${plan.target} already has a stack "${plan.stack}" (${existing.foundIn === 'folder' ? existing.composeFile : 'in its engine'}). ` +
        `--force does not apply: it would replace a stack that docker-mcp did not leave there. Remove or rename it on ${plan.target} first`,
    );
  }

  // An app folder or a dataset moves whole: another stack's data in it would go along, and be left readonly here.
  for (const dataPath of plan.dataPaths.filter((d) => d.appFolderOf)) {
    const others = await containersMountingPath(source.transport, dataPath.sourcePath, { exceptStack: plan.stack, atOrInsideOnly: true });
    if (others.length > 0) {
      refuse(
        `${plan.stack} mounts ${(dataPath.appFolderOf ?? []).join(', ')}, inside ${dataPath.sourcePath}, which moves whole as one dataset (its app folder, or the dataset they lie in); ` +
          `but ${others.join(', ')} (not of ${plan.stack}) mount${others.length === 1 ? 's' : ''} paths in it too, which would go along. ` +
          `--force does not apply. Make each path the stack mounts a dataset of its own on ${plan.source} (zfs create), or give the stack a folder of its own, or use --method rsync (which moves only the paths mounted)`,
      );
    }
  }

  // A plain send would decrypt an encrypted dataset on the target: refused before anything moves.
  await eachInPathOrder(
    plan.dataPaths.filter((d) => d.method === 'zfs'),
    async (dataPath) => {
      const layout = serviceDatasetLayout(source.host);
      const zfs = new ZfsHost(source.transport);
      const dataset = datasetForPath(layout, dataPath.sourcePath);
      // A directory not yet a dataset becomes one under appdata, inheriting its encryption.
      const [own, inherited] = await Promise.all([zfs.encryption(dataset), zfs.encryption(layout.appdataDataset)]);
      const encryption = own ?? inherited;
      if (encryption && encryption !== 'off') {
        const targetDataset = datasetForPath(serviceDatasetLayout(target.host), dataPath.targetPath);
        refuse(new EncryptedDatasetError(plan.source, dataset, encryption, dataset, plan.target, targetDataset).message);
      }
      // A plain directory is converted into its dataset after the stop; what would refuse that is refused now, while the stack runs.
      if ((await zfs.dataset(dataset)) === null && (await pathKind(source.transport, dataPath.sourcePath)) === 'directory') {
        await refuseConversionObstacles(zfs, { path: dataPath.sourcePath, original: dataPath.sourcePath, dataset, partialCopy: null }).catch((error: unknown) => {
          if (error instanceof MountsInsideError || error instanceof InsufficientSpaceError) refuse(`${error.message}. --force does not apply: converting ${dataPath.sourcePath} into its own dataset needs this`);
          throw error;
        });
      }
    },
  );

  const conflicts = portConflicts(plan.ports ?? [], targetContainers, plan.stack);
  if (conflicts.length > 0) {
    refuse(
      `${conflicts.map((c) => `${c.service} publishes ${c.port}/${c.protocol}, which ${c.container} holds on ${plan.target}`).join('; ')}. ` +
        `--force does not apply: the stack could not start there. Free the port on ${plan.target}, or publish another one`,
    );
  }

  const { volumes, volumeHelpers, volumeBytes: volumesSize } = await checkVolumes(plan, source, target, context, refuse);

  const own = new Set(context.ownTargetPaths ?? []);
  const targetBefore = await eachInPathOrder(plan.dataPaths, async (dataPath): Promise<TargetPathBefore> => {
    const kind = await pathKind(target.transport, dataPath.targetPath);
    const empty = kind === 'directory' && (await directoryIsEmpty(target.transport, dataPath.targetPath));
    if (dataPath.method === 'zfs') {
      const dataset = datasetForPath(serviceDatasetLayout(target.host), dataPath.targetPath);
      const state = await new ZfsHost(target.transport).dataset(dataset);
      // zfs refuses a foreign dataset itself, before anything stops.
      return {
        targetPath: dataPath.targetPath,
        method: 'zfs',
        dataset,
        state: state !== null ? 'present' : kind === 'missing' ? 'missing' : empty ? 'empty-directory' : 'present',
        ...(state?.standbyOf ? { standbyOf: state.standbyOf } : {}),
      };
    }
    // Moving back, rsync replaces the stale copy.
    if (kind === 'directory' && !empty && !context.movingBack && !own.has(dataPath.targetPath)) {
      refuse(
        `${plan.target}:${dataPath.targetPath} already holds data, which rsync --delete would replace. ` +
          `--force does not apply: that data is not docker-mcp's and would be lost. Move it away on ${plan.target} first`,
      );
    }
    return { targetPath: dataPath.targetPath, method: 'rsync', dataset: null, state: kind === 'missing' ? 'missing' : empty ? 'empty-directory' : 'present' };
  });

  const dataBytes = (await reading.sizes).reduce((sum, size) => sum + size, 0) + volumesSize;
  const appdata = target.host.appdata_path ?? '/';
  const df = await reading.df;
  const targetFreeBytes = df.exitCode === 0 ? parseDfFreeBytes(df.stdout) : null;
  if (targetFreeBytes !== null && dataBytes > targetFreeBytes) {
    refuse(
      `${plan.target} has ${targetFreeBytes} bytes free under ${appdata}, the stack's data is ${dataBytes} bytes. ` +
        `--force does not apply: the copy would fill ${plan.target}'s filesystem (hurting what else runs there) and then roll back. Make room first`,
    );
  }

  const lacking = await reading.lacking;
  const notOnSource = await missingImages(source.transport, lacking);
  const pinned = lacking.some((image) => image.includes('@sha256:'));
  const imageRefusal = whyImagesCannotBeSupplied(plan.target, lacking, notOnSource, pinned && (await keepsDigestsOnLoad(target)));
  if (imageRefusal !== null) refuse(imageRefusal);
  const builtToCarry = await checkBuiltImages(plan, source, target, refuse);
  return { dataBytes, targetFreeBytes, imagesToCarry: lacking, builtToCarry, forcedNotMoved: notMoved, hostProvided, targetBefore, volumes, volumeHelpers };
}

/** What pre-flight reads that depends on nothing it decides before: started together, awaited each in its turn. */
function readAhead(plan: MigrationPlan, source: DockerHost, target: DockerHost) {
  const early = <T>(promise: Promise<T>): Promise<T> => {
    // Awaited later, or never when an earlier check refuses: never an unhandled rejection meanwhile.
    promise.catch(() => undefined);
    return promise;
  };
  return {
    known: early(knownStacksAndContainers(target)),
    sizes: early(
      Promise.all(
        plan.dataPaths.map(async (d) => {
          const result = await source.transport.exec(command(['du', '-sb', '--', d.sourcePath]), { okExitCodes: [0, 1] });
          return Number(/^(\d+)/.exec(result.stdout)?.[1] ?? 0);
        }),
      ),
    ),
    df: early(target.transport.exec(command(['df', '-Pk', target.host.appdata_path ?? '/']), { okExitCodes: [0, 1] })),
    lacking: early(missingImages(target.transport, plan.images)),
  };
}

/**
 * The same check of every data path at once (each is a few round trips of
 * its own); the answers in path order, and the refusal or error of the
 * first path that has one, whichever came first in time.
 */
function eachInPathOrder<P, R>(paths: readonly P[], check: (path: P) => Promise<R>): Promise<R[]> {
  return allEnded(paths.map(check));
}

/**
 * Images compose builds: the source must have each (the target never builds,
 * least of all inside the outage); carried when the target has none of that
 * name, or another image by it (an older build).
 */
async function checkBuiltImages(plan: MigrationPlan, source: DockerHost, target: DockerHost, refuse: (reason: string) => never): Promise<{ image: string; as: string }[]> {
  const { carry, missingOnSource } = await builtImagesToCarry(plan, source, target);
  const [missing] = missingOnSource;
  if (missing) {
    refuse(
      `compose builds ${missing.service}'s image (build:), and ${plan.source} has no ${missing.image}: docker-mcp carries built images and never builds on ${plan.target}. ` +
        `--force does not apply. Build it on ${plan.source} first (compose build ${missing.service}), then migrate`,
    );
  }
  return carry;
}

/**
 * The images compose built for the stack that `target` lacks or holds
 * another build of (each with the name the target's compose looks for), and
 * those the source has not built.
 */
export async function builtImagesToCarry(
  plan: MigrationPlan,
  source: DockerHost,
  target: DockerHost,
): Promise<{ carry: { image: string; as: string }[]; missingOnSource: BuiltImage[] }> {
  const built = plan.builtImages ?? [];
  if (built.length === 0) return { carry: [], missingOnSource: [] };
  const targetFlavour = (await hostCompose(target)).flavour;
  const carry: { image: string; as: string }[] = [];
  const missingOnSource: BuiltImage[] = [];
  for (const b of built) {
    const as = b.named ? b.image : builtImageName(plan.stack, b.service, targetFlavour);
    const [onSource, onTarget] = await Promise.all([imageId(source.transport, b.image), imageId(target.transport, as)]);
    if (onSource === null) missingOnSource.push(b);
    else if (onTarget !== onSource) carry.push({ image: b.image, as });
  }
  return { carry, missingOnSource };
}

/**
 * What the stack binds from the host itself (time zone, Docker socket,
 * devices) must be on the target as on the source: the same kind of file.
 * Not moved, never --force'd: a missing one would make Docker create an empty
 * directory in its place, or the service fail. Unless that is what the
 * source has too: an empty directory where the host lacked the file when
 * Docker started the service (Debian 13 has no /etc/timezone, a host without
 * D-Bus no /run/dbus), which Docker makes on the target the same way.
 */
async function checkHostProvided(plan: MigrationPlan, source: DockerHost, target: DockerHost, refuse: (reason: string) => never): Promise<string[]> {
  const binds = plan.hostProvided ?? [];
  if (binds.length === 0) return [];
  const paths = binds.map((b) => b.source);
  const [onSource, onTarget] = await Promise.all([pathTypes(source.transport, paths), pathTypes(target.transport, paths)]);
  const candidates = [...new Set(paths)].filter((p) => dockerWouldMakeIt(binds, p, onSource, onTarget));
  const madeByDocker = candidates.length === 0 ? new Set<string>() : await emptyDirectories(source.transport, candidates);
  const wrong = hostProvidedMismatches(binds, onSource, onTarget, madeByDocker);
  if (wrong.length > 0) {
    refuse(
      `the stack binds from the host what ${plan.target} does not provide as ${plan.source} does: ${wrong.map((w) => `${w.services.join(', ')}: ${w.path} (${w.what}) is ${w.source} on ${plan.source}, ${w.target} on ${plan.target}`).join('; ')}. ` +
        `--force does not apply: the service would get something else there. Provide it on ${plan.target} first (install or start what makes it, or create the file), or remove the mount from the stack`,
    );
  }
  const onTargetInWords = (p: string) =>
    madeByDocker.has(p) ? `missing: Docker makes it an empty directory at start, as on ${plan.source}` : onTarget.get(p);
  return [...new Set(binds.map((b) => `${b.source} (${b.what}, ${onTargetInWords(b.source)})`))];
}

/** A directory on the source, missing on the target, bound only where Docker makes a missing host path: it may be one Docker made. Pure. */
function dockerWouldMakeIt(binds: readonly HostProvidedBind[], p: string, onSource: ReadonlyMap<string, string>, onTarget: ReadonlyMap<string, string>): boolean {
  return onSource.get(p) === 'directory' && (onTarget.get(p) ?? 'missing') === 'missing' && binds.filter((b) => b.source === p).every((b) => b.createsHostPath === true);
}

/**
 * The host-provided paths whose kind differs between the hosts (missing
 * counts as a kind), but for those in `madeByDocker`: empty directories on
 * the source that Docker makes on the target the same way. Pure.
 */
export function hostProvidedMismatches(
  binds: readonly HostProvidedBind[],
  onSource: ReadonlyMap<string, string>,
  onTarget: ReadonlyMap<string, string>,
  madeByDocker: ReadonlySet<string> = new Set(),
): { path: string; what: string; services: string[]; source: string; target: string }[] {
  const paths = [...new Set(binds.map((b) => b.source))];
  return paths.flatMap((p) => {
    const sourceKind = onSource.get(p) ?? 'missing';
    const targetKind = onTarget.get(p) ?? 'missing';
    if (sourceKind === targetKind) return [];
    if (madeByDocker.has(p) && sourceKind === 'directory' && targetKind === 'missing') return [];
    const using = binds.filter((b) => b.source === p);
    return [{ path: p, what: using[0]?.what ?? '', services: [...new Set(using.map((b) => b.service))].sort(), source: sourceKind, target: targetKind }];
  });
}

/**
 * Why the target could not get an image it lacks, or null: nobody has it, or
 * it is digest-pinned and `docker load` would not keep its digest (the
 * classic image store; the containerd one keeps it). Pure.
 */
export function whyImagesCannotBeSupplied(target: string, lacking: readonly string[], notOnSource: readonly string[], targetKeepsDigests: boolean): string | null {
  if (notOnSource.length > 0) return `neither host has these images: ${notOnSource.join(', ')} (--force does not apply: the stack could not start)`;
  const pinned = lacking.filter((image) => image.includes('@sha256:'));
  if (pinned.length === 0 || targetKeepsDigests) return null;
  return (
    `${target} lacks these digest-pinned images: ${pinned.join(', ')}. Carried with docker save | docker load they would lose their registry digest ` +
    `(${target}'s engine keeps images in its classic store), so compose there would not find them by digest and would try to pull. ` +
    `Pull them on ${target} (docker pull ${pinned[0]}) and migrate again (--force does not apply)`
  );
}

/** The containerd image store keeps an image's digest through docker save | docker load; the classic one does not. */
async function keepsDigestsOnLoad(target: DockerHost): Promise<boolean> {
  const result = await target.transport.exec(command(['docker', 'info', '--format', '{{json .DriverStatus}}']), { okExitCodes: [0, 1] });
  return result.exitCode === 0 && result.stdout.includes('io.containerd.snapshotter');
}

/** What the helper containers that copy volumes may run: the stack's own images first, then busybox. */
export const helperCandidatesOf = (images: readonly string[]) => [...images.filter((image) => !image.includes('@')), 'busybox:latest'];
export const helperCandidates = (plan: MigrationPlan) => helperCandidatesOf(plan.images);

/**
 * The named volumes to copy: each on the source (or not yet), none on the
 * target that is not this stack's own stale copy (moving back) or this
 * migration's (a resume); an image on each host to copy them with.
 */
async function checkVolumes(
  plan: MigrationPlan,
  source: DockerHost,
  target: DockerHost,
  context: PreflightContext,
  refuse: (reason: string) => never,
): Promise<{ volumes: VolumeBefore[]; volumeHelpers: PreflightResult['volumeHelpers']; volumeBytes: number }> {
  const copied = (plan.volumes ?? []).filter((v) => v.handling === 'copy');
  const own = new Set(context.ownVolumes ?? []);
  const volumes: VolumeBefore[] = [];
  for (const volume of copied) {
    const [onSource, onTarget] = await Promise.all([inspectVolume(source.transport, volume.name), inspectVolume(target.transport, volume.name)]);
    if (onSource && onSource.driver !== 'local') refuse(`volume ${volume.name} on ${plan.source} is of the ${onSource.driver} driver, not local as compose's config says: docker-mcp will not guess how to copy it`);
    if (onTarget && !context.movingBack && !own.has(volume.name)) {
      refuse(
        `${plan.target} already has a volume ${volume.name}, which the copy would replace. ` +
          `--force does not apply: that data is not docker-mcp's and would be lost. Remove or rename it on ${plan.target} first`,
      );
    }
    volumes.push({ name: volume.name, onSource: onSource !== null, labels: onSource?.labels ?? {}, state: onTarget ? 'present' : 'missing' });
  }
  if (!volumes.some((v) => v.onSource)) return { volumes, volumeHelpers: null, volumeBytes: 0 };
  const candidates = helperCandidates(plan);
  const [sourceHelper, targetHelper] = await Promise.all([
    chooseHelperImage(source.transport, candidates, volumes.filter((v) => v.onSource).map((v) => v.name)),
    chooseHelperImage(target.transport, candidates),
  ]);
  if (sourceHelper === null) {
    refuse(
      `copying named volumes needs an image with sh, tar, find, stat, sha256sum and du on ${plan.source} (tried ${candidates.join(', ')}). ` +
        `--force does not apply. Pull busybox on ${plan.source} first`,
    );
  }
  const helper = (sourceHelper as { image: string; bytes: number }).image;
  return {
    volumes,
    volumeHelpers: { source: helper, target: targetHelper?.image ?? helper, carry: targetHelper === null },
    volumeBytes: (sourceHelper as { image: string; bytes: number }).bytes,
  };
}

/** Why the stack's `.env` would give other values on the target (compose v1 on one host, v2 on the other), or null. */
async function envReadDifferently(plan: MigrationPlan, source: DockerHost, target: DockerHost): Promise<string | null> {
  const env = plan.targetFiles?.find((f) => f.name === '.env');
  const names = env ? singleQuotedExpansions(env.text) : [];
  if (names.length === 0) return null;
  const [from, to] = await Promise.all([hostCompose(source), hostCompose(target)]);
  if (from.flavour === to.flavour) return null;
  const v1 = from.flavour === 'v1' ? plan.source : plan.target;
  return (
    `${plan.stack}'s .env sets ${names.join(', ')} to a single-quoted value holding \${...}, which compose v1 (on ${v1}) replaces with a variable's value ` +
    `and v2 keeps as written: the stack would get other values on ${plan.target}. --force does not apply. Write those values without \${...} first`
  );
}
