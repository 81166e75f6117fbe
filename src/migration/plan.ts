/**
 * A migration plan is a value: what moves where, by which method, and the
 * ordered steps. It is computed without touching a host (from the stack's
 * compose file and the two hosts' configuration), printed by --dry-run, and
 * walked by the executor.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { HostConfig } from '../config/schema.js';
import { isUnderPath, type ServiceDataPath } from '../docker/compose-file.js';
import type { BuiltImage, ResolvedPort, ResolvedVolume } from '../docker/compose-config.js';
import type { MountOrigin } from '../docker/mount-origin.js';
import { dataPathsOf, referencedFiles, type StackSource } from '../docker/stack-source.js';
import { InvalidInputError } from '../errors.js';
import { relativePathInside, validateDataPath, validateStackName, validateVolumeName } from '../names/validate.js';
import { chooseMethod, type ServicePaths } from '../transfer/transfer-services.js';
import { classifyOutsideBind } from './host-paths.js';
import { rewriteComposePaths, rewriteEnvPaths } from './rewrite-compose.js';

export interface PlannedDataPath extends ServicePaths {
  /** Services of the stack that mount it. */
  readonly usedBy: readonly string[];
  readonly method: 'zfs' | 'rsync';
  /**
   * Set when this data path is wider than what the stack mounts: the dataset
   * the mounted paths lie in, or their plain app folder (`appdata/jellyfin`),
   * moved whole as one dataset (see appFolderFor). The paths mounted inside
   * it. Absent when the stack mounts the data path itself.
   */
  readonly appFolderOf?: readonly string[];
}

/** A named volume of the stack, and what the migration does with it. */
export interface PlannedVolume {
  /** Its key under `volumes:` in the compose file. */
  readonly key: string;
  /** The engine's name for it, the same on both hosts. */
  readonly name: string;
  readonly usedBy: readonly string[];
  /**
   * copy: a local volume, copied after the stop through a helper container and
   * verified by a checksum manifest; shared: a network share (nfs, cifs) the
   * target mounts as the source does, so its data stays where it is.
   */
  readonly handling: 'copy' | 'shared';
  readonly note: string;
}

/** A bind the target host provides itself: not data, not moved. */
export interface HostProvidedBind {
  readonly service: string;
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  /** What it is, in words ("the host's time zone"). */
  readonly what: string;
  /** Docker makes a missing one an empty directory at start (compose's short syntax). */
  readonly createsHostPath?: boolean;
}

export interface PlanStep {
  readonly phase: 'preflight' | 'seed' | 'stack-folder' | 'images' | 'stop' | 'final-sync' | 'verify' | 'folder-sync' | 'start';
  readonly host: string;
  readonly description: string;
}

/** A stack file as written on the target, and the sha256 of the source's text it was made from (a change after the plan shows). */
export interface TargetFile {
  readonly name: string;
  readonly text: string;
  readonly changed: boolean;
  readonly sourceSha256?: string;
}

export interface MigrationPlan {
  readonly id: string;
  readonly stack: string;
  readonly source: string;
  readonly target: string;
  readonly mode: 'low-downtime' | 'cold';
  readonly sourceStackDir: string;
  readonly targetStackDir: string;
  readonly composeFileName: string;
  readonly services: readonly string[];
  readonly dataPaths: readonly PlannedDataPath[];
  /** Named volumes and binds outside appdata and the stack folder: not moved. */
  readonly notMoved: readonly { readonly service: string; readonly source: string; readonly reason: string }[];
  /**
   * Binds of what the target provides itself (its clock, Docker socket,
   * devices): left alone, checked at pre-flight to exist on the target as on
   * the source. Absent in plans made before they were told apart.
   */
  readonly hostProvided?: readonly HostProvidedBind[];
  /** Named volumes that move (copy) or that both hosts reach (shared). Absent in plans made before volumes moved. */
  readonly volumes?: readonly PlannedVolume[];
  /**
   * Services the engine runs for the project that compose's `config` does not
   * print (started with a profile): pre-flight refuses rather than leave them behind.
   */
  readonly servicesOutsideConfig?: readonly string[];
  /** The compose profiles the stack runs with on the source: read, stopped and started with them on both hosts. */
  readonly profiles?: readonly string[];
  readonly images: readonly string[];
  /**
   * Images compose builds for the stack (`build:`), by their names on the
   * source: carried like pulled ones before the stop (the target never
   * builds). Not in `images`. Absent in older plans.
   */
  readonly builtImages?: readonly BuiltImage[];
  readonly composeChanges: readonly string[];
  readonly targetComposeText: string;
  /**
   * The stack's compose files (in compose's order) and `.env`, by name in the
   * stack folder, as written on the target: rewritten where a moved path is written.
   */
  readonly targetFiles?: readonly TargetFile[];
  /** The compose files, by name in the stack folder, in the order compose reads them. */
  readonly composeFiles?: readonly string[];
  /** The compose files as the source's compose reads them (full paths): the stop needs no look-up. */
  readonly sourceConfigFiles?: readonly string[];
  /** Every mount as compose resolves it on the source, and where its path is written. */
  readonly mounts?: readonly { readonly service: string; readonly source: string; readonly target: string; readonly kind: 'bind' | 'volume'; readonly writtenAt: MountOrigin | null }[];
  /** Host ports the stack publishes. */
  readonly ports?: readonly ResolvedPort[];
  /** Services that run once: started means exited 0 for them (see ResolvedProject.oneShot). */
  readonly oneShot?: readonly string[];
  /**
   * What pre-flight will refuse: known from the plan alone, and in a dry run
   * the first refusal of pre-flight's checks of the hosts as they are now.
   * Each reason, and whether --force goes past it. Empty: none.
   */
  readonly refusals?: readonly { readonly reason: string; readonly forceApplies: boolean }[];
  readonly steps: readonly PlanStep[];
}

export interface PlanInput {
  readonly id: string;
  readonly stack: string;
  readonly source: HostConfig;
  readonly target: HostConfig;
  /** The stack as compose resolved it on the source (its `config`: the only reader of what it mounts), with its files. */
  readonly stackSource: StackSource;
  readonly cold?: boolean;
  readonly method?: 'auto' | 'zfs' | 'rsync';
  /** Services of the project's containers on the source (the engine's labels). */
  readonly runningServices?: readonly string[];
  /** The profiles `stackSource` was read with. */
  readonly profiles?: readonly string[];
  /** Mount points of the source's datasets (ZFS hosts): a path in a dataset other than appdata's own is moved as users made it. */
  readonly sourceDatasetMounts?: readonly string[];
}

function needs(host: HostConfig, field: 'compose_path' | 'appdata_path'): string {
  const value = host[field];
  if (!value) throw new InvalidInputError('host', host.id, `needs ${field} in hosts.yml to take part in a migration`);
  return value;
}

export function planMigration(input: PlanInput): MigrationPlan {
  const stack = validateStackName(input.stack);
  if (input.source.id === input.target.id) throw new InvalidInputError('target host', input.target.id, 'is the source host');
  const sourceAppdata = needs(input.source, 'appdata_path');
  const targetAppdata = needs(input.target, 'appdata_path');
  const from = input.stackSource;
  const sourceStackDir = from.location.workingDir;
  const targetStackDir = `${needs(input.target, 'compose_path')}/${targetFolderName(stack, sourceStackDir)}`;
  const summary = { services: from.resolved.services, images: from.resolved.images, dataPaths: dataPathsOf(from, sourceAppdata) };
  const inFolder = (file: string) => file.startsWith(`${sourceStackDir}/`) && !file.slice(sourceStackDir.length + 1).includes('/');

  const byPath = new Map<string, Set<string>>();
  const notMoved: { service: string; source: string; reason: string }[] = [];
  const hostProvided: HostProvidedBind[] = [];
  const envVariables = new Set<string>();
  const volumes = new Map<string, { key: string; name: string; usedBy: Set<string>; handling: 'copy' | 'shared'; note: string }>();
  for (const mount of summary.dataPaths) {
    const unwritable = mount.underAppdata ? whyNotRewritable(mount, from, sourceAppdata, inFolder) : null;
    const declared = mount.kind === 'volume' ? from.resolved.volumes.find((v) => v.key === mount.source) : undefined;
    const handling = declared ? volumeHandling(declared) : null;
    if (declared && handling && !('refused' in handling)) {
      const planned = volumes.get(declared.key) ?? { key: declared.key, name: validateVolumeName(declared.name), usedBy: new Set<string>(), ...handling };
      volumes.set(declared.key, { ...planned, usedBy: planned.usedBy.add(mount.service) });
    } else if (handling && 'refused' in handling) {
      notMoved.push({ service: mount.service, source: mount.source, reason: handling.refused });
    } else if (mount.kind === 'volume') {
      notMoved.push({ service: mount.service, source: mount.source, reason: 'a named volume: docker-mcp moves bind mounts under appdata_path' });
    } else if (unwritable !== null) {
      notMoved.push({ service: mount.service, source: mount.source, reason: unwritable });
    } else if (mount.underAppdata) {
      byPath.set(mount.source, (byPath.get(mount.source) ?? new Set()).add(mount.service));
      const origin = mount.writtenAt;
      if (origin?.variable && origin.file === from.files.envFile?.path) envVariables.add(origin.variable);
    } else if (mount.source !== sourceStackDir && !mount.source.startsWith(`${sourceStackDir}/`)) {
      const outside = classifyOutsideBind(mount.source, mount.readOnly, sourceAppdata);
      if (outside.kind === 'host-provided') {
        const creates = from.resolved.mounts.some((m) => m.service === mount.service && m.target === mount.target && m.createsHostPath === true);
        hostProvided.push({ service: mount.service, source: mount.source, target: mount.target, readOnly: mount.readOnly, what: outside.what, ...(creates ? { createsHostPath: true } : {}) });
      }
      else notMoved.push({ service: mount.service, source: mount.source, reason: outside.reason });
    }
  }
  for (const file of referencedFiles(from)) {
    if (!isUnderPath(file.path, sourceStackDir) && !isUnderPath(file.path, sourceAppdata)) {
      notMoved.push({ service: file.what, source: file.path, reason: 'a file outside the stack folder and appdata_path, which stays where it is' });
    }
  }
  const methodOf = (service: ServicePaths) => chooseMethod({ source: { host: input.source }, target: { host: input.target }, method: input.method ?? 'auto' }, service);
  const toTarget = (sourcePath: string): ServicePaths => {
    const relative = relativePathInside(sourceAppdata, validateDataPath(sourcePath, 'service data path'), 'service data path');
    return { service: relative, sourcePath, targetPath: validateDataPath(`${targetAppdata}/${relative}`, `service data path on ${input.target.id}`) };
  };
  // A path nested in a dataset or a plain app folder moves with it, as one dataset (docs/zfs.md says why).
  const mounted = [...byPath.keys()].sort();
  const unitOf = new Map(
    mounted.map((p) => {
      const folder = appFolderFor(p, sourceAppdata, input.sourceDatasetMounts ?? []);
      return [p, folder !== null && methodOf(toTarget(folder)) === 'zfs' ? folder : p];
    }),
  );
  // A path inside another moved path travels with it.
  const paths = [...new Set(unitOf.values())].sort();
  const outer = paths.filter((p) => !paths.some((other) => other !== p && p.startsWith(`${other}/`)));
  const dataPaths = outer.map((sourcePath): PlannedDataPath => {
    const service = toTarget(sourcePath);
    const inside = mounted.filter((p) => p === sourcePath || p.startsWith(`${sourcePath}/`));
    const usedBy = inside.flatMap((p) => [...(byPath.get(p) ?? [])]);
    return {
      ...service,
      usedBy: [...new Set(usedBy)].sort(),
      method: methodOf(service),
      ...(inside.includes(sourcePath) ? {} : { appFolderOf: inside }),
    };
  });

  const targetFiles = [
    ...from.files.composeFiles
      .filter((f) => inFolder(f.path))
      .map((f) => ({ name: path.posix.basename(f.path), sourceSha256: sha256(f.text), ...rewriteComposePaths(f.text, sourceAppdata, targetAppdata) })),
    ...(from.files.envFile ? [{ name: '.env', sourceSha256: sha256(from.files.envFile.text), ...rewriteEnvPaths(from.files.envFile.text, sourceAppdata, targetAppdata, envVariables) }] : []),
  ];
  const rewritten = { text: targetFiles[0]?.text ?? '', changes: targetFiles.flatMap((f) => f.changes.map((change) => `${f.name}: ${change}`)) };
  const builtImages = from.resolved.built ?? [];
  const images = [...new Set(Object.values(summary.images).filter((image): image is string => image !== null && !builtImages.some((b) => b.image === image)))].sort();
  const cold = input.cold ?? false;
  const runningOutside = [...new Set(input.runningServices ?? [])].filter((service) => !summary.services.includes(service)).sort();
  const s = input.source.id;
  const t = input.target.id;
  const moves = dataPaths.map((d) => `${d.sourcePath} → ${t}:${d.targetPath} (${d.method})`);
  const plannedVolumes = [...volumes.values()].sort((a, b) => a.name.localeCompare(b.name)).map((v): PlannedVolume => ({ ...v, usedBy: [...v.usedBy].sort() }));
  const copied = plannedVolumes.filter((v) => v.handling === 'copy');
  // Everything that can be done while the stack runs comes before the stop: the outage holds only the last sends, the checks and the start.
  const steps: PlanStep[] = [
    {
      phase: 'preflight',
      host: t,
      description:
        `check that no stack "${stack}" exists on ${t}, that its appdata has room, and which images it lacks` +
        (hostProvided.length > 0 ? `; that ${t} provides, as ${s} does, what the stack binds from the host (not moved): ${[...new Set(hostProvided.map((h) => h.source))].join(', ')}` : ''),
    },
    ...(cold ? [] : moves.map((move): PlanStep => ({ phase: 'seed', host: s, description: `seed while the stack runs: ${move}` }))),
    {
      phase: 'stack-folder',
      host: t,
      description: `copy ${sourceStackDir} to ${t}:${targetStackDir} while the stack runs, paths rewritten where they are written (${rewritten.changes.length}), checked with compose's own config on ${t}`,
    },
    {
      phase: 'images',
      host: t,
      description:
        `carry images ${t} lacks (docker save | docker load) while the stack runs: checked among ${images.join(', ') || 'none'}` +
        (builtImages.length > 0 ? `; built by compose on ${s}, carried unless ${t} has the same image: ${builtImages.map((b) => `${b.image} (${b.service})`).join(', ')}` : ''),
    },
    { phase: 'stop', host: s, description: `stop the stack (compose down) on ${s}` },
    ...moves.map((move): PlanStep => ({ phase: 'final-sync', host: s, description: `${cold ? 'copy' : 'send what changed since the seed'} (data paths in parallel): ${move}` })),
    ...copied.map((v): PlanStep => ({
      phase: 'final-sync',
      host: s,
      description: `copy named volume ${v.name} to ${t} (created there with the same name and labels): tar through a short-lived helper container on each host`,
    })),
    {
      phase: 'verify',
      host: t,
      description: `compare a manifest of every data path${copied.length > 0 ? ' and a checksum manifest of every copied volume' : ''} on both hosts (nothing runs on either copy yet)`,
    },
    { phase: 'folder-sync', host: t, description: `compare ${sourceStackDir} with its copy by manifest; send what changed since the copy (rewritten again where a stack file changed)` },
    { phase: 'start', host: t, description: `compose up -d${builtImages.length > 0 ? ' --no-build' : ''} on ${t}, wait until every service runs (healthy where it has a healthcheck)${(from.resolved.oneShot ?? []).length > 0 ? ` or, run once, completed (exit 0): ${(from.resolved.oneShot ?? []).join(', ')}` : ''}` },
  ];
  return {
    id: input.id,
    stack,
    source: s,
    target: t,
    mode: cold ? 'cold' : 'low-downtime',
    sourceStackDir,
    targetStackDir,
    composeFileName: path.posix.basename(from.location.configFiles[0] ?? 'docker-compose.yml'),
    services: summary.services,
    dataPaths,
    notMoved,
    hostProvided,
    volumes: plannedVolumes,
    ...(input.runningServices ? { servicesOutsideConfig: runningOutside } : {}),
    ...(input.profiles && input.profiles.length > 0 ? { profiles: input.profiles } : {}),
    images,
    builtImages,
    composeChanges: rewritten.changes,
    targetComposeText: rewritten.text,
    targetFiles: targetFiles.map((f) => ({ name: f.name, text: f.text, changed: f.changes.length > 0, sourceSha256: f.sourceSha256 })),
    composeFiles: from.location.configFiles.map((file) => path.posix.basename(file)),
    sourceConfigFiles: from.location.configFiles,
    mounts: summary.dataPaths.map((m) => ({ service: m.service, source: m.source, target: m.target, kind: m.kind, writtenAt: m.writtenAt })),
    ports: from.resolved.ports,
    oneShot: from.resolved.oneShot ?? [],
    refusals: [
      ...notMoved.map((m) => ({ reason: `${m.service}: ${m.source} would not move (${m.reason})`, forceApplies: true })),
      ...runningOutside.map((service) => ({ reason: `${service} runs on ${s} but compose's config does not list it`, forceApplies: false })),
    ],
    steps,
  };
}

/** Network shares a local volume mounts by driver_opts: both hosts reach them, so their data need not move. */
const SHARE_TYPES = new Set(['nfs', 'nfs4', 'cifs', 'smb3']);

/** What the migration does with a named volume, or why it cannot move it (refused unless --force). Pure. */
export function volumeHandling(volume: ResolvedVolume): { handling: 'copy' | 'shared'; note: string } | { refused: string } {
  if (volume.external) {
    return { refused: `an external volume (${volume.name}): compose does not create it, so it is not the stack's to move; create it on the target first` };
  }
  if (volume.driver !== 'local') {
    return { refused: `a volume of the ${volume.driver} driver: docker-mcp copies only local volumes; with --force the target creates ${volume.name} with that driver, holding whatever the driver gives it there` };
  }
  const type = volume.driverOptions.type ?? null;
  if (type !== null && SHARE_TYPES.has(type)) {
    return { handling: 'shared', note: `stays where it is, reachable from both: a ${type} share (${volume.driverOptions.device ?? '?'}${volume.driverOptions.o ? `, ${volume.driverOptions.o}` : ''}) the target mounts as the source does` };
  }
  if (type === 'tmpfs') return { handling: 'shared', note: 'a tmpfs volume: it holds nothing between runs, so there is nothing to move' };
  if (type !== null && type !== 'none') return { refused: `a local volume of type ${type}: docker-mcp does not know whether the target reaches its device (${volume.driverOptions.device ?? '?'})` };
  return { handling: 'copy', note: 'copied after the stop and verified by a checksum manifest' };
}

/**
 * What a mounted path under appdata moves with, or null when it moves by
 * itself (a dataset is mounted at it, or it lies one level under appdata):
 * the dataset it lies in (below appdata's own), which moves whole, as the
 * user (or an earlier move) made it; else its app folder, the first folder
 * under appdata (`appdata/jellyfin/config` moves as `appdata/jellyfin`),
 * which becomes one dataset: a dataset for the nested path could not be made
 * without making the folder one, and the app's paths then share one
 * snapshot. `datasetMounts`: the mount points of the host's datasets. Pure.
 */
export function appFolderFor(mountedPath: string, appdata: string, datasetMounts: readonly string[]): string | null {
  const root = appdata.replace(/\/+$/, '');
  if (!mountedPath.startsWith(`${root}/`) || datasetMounts.includes(mountedPath)) return null;
  const holding = datasetMounts.filter((m) => m.startsWith(`${root}/`) && mountedPath.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0];
  if (holding !== undefined) return holding;
  const components = mountedPath.slice(root.length + 1).split('/');
  return components.length < 2 ? null : `${root}/${components[0]}`;
}

/** Why docker-mcp cannot write the target's path for a bind under appdata, or null when it can. */
function whyNotRewritable(mount: ServiceDataPath & { readonly writtenAt?: MountOrigin | null }, from: StackSource, appdata: string, inFolder: (file: string) => boolean): string | null {
  const origin = mount.writtenAt ?? null;
  if (origin === null) return 'no compose file of the stack declares this mount where docker-mcp can find it';
  if (origin.file !== from.files.envFile?.path && !inFolder(origin.file)) return `its path is written in ${origin.file}, outside the stack folder, which does not move`;
  if (origin.file === from.files.envFile?.path) return null;
  if (origin.variable !== null) return `its path comes from \${${origin.variable}}, which .env does not set (a default or the shell's environment): set ${origin.variable} in .env`;
  return origin.written.includes(appdata) ? null : `its path is written as ${origin.written} in ${origin.file}: write it out under ${appdata}`;
}

/**
 * The folder the stack lands in under the target's compose_path: its own
 * folder's name, so a round trip leaves one folder on each side. The project
 * name comes from the files there as it did on the source (`name:`, `.env`'s
 * COMPOSE_PROJECT_NAME), and docker-mcp passes it to compose anyway. A folder
 * name that is not a valid stack name gives way to the project's.
 */
function targetFolderName(project: string, sourceStackDir: string): string {
  try {
    return validateStackName(path.posix.basename(sourceStackDir));
  } catch {
    return project;
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
