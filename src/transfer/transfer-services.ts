/**
 * Transfer the data of several services (one stack) from one host to
 * another: per service its own dataset and snapshot, or rsync when ZFS is not
 * on both sides. Services run concurrently, bounded; one failing service does
 * not hide the others' results.
 */
import pLimit from 'p-limit';
import type { HostConfig } from '../config/schema.js';
import { DockerMcpError, describeError, InvalidInputError } from '../errors.js';
import { relativePathInside, validateSnapshotPart } from '../names/validate.js';
import { command } from '../ssh/quote.js';
import type { ReverseTunnel, SshTransport } from '../ssh/transport.js';
import { PathOutsideAppdataError, pathsNotContained } from '../host/containment.js';
import { ConversionError } from '../zfs/errors.js';
import { directoryIsEmpty, pathKind } from '../zfs/path-kind.js';
import { datasetForPath, ensureServiceDataset, serviceDatasetLayout } from '../zfs/service-dataset.js';
import { ZfsHost, type DatasetInspection } from '../zfs/zfs-host.js';
import type { ProgressListener } from './progress.js';
import { transferPathByRsync } from './rsync-transfer.js';
import type { CompressionChoice } from './compression.js';
import { checkDirectRoute, readTargetIdentity, type TargetFromSource } from './source-to-target-ssh.js';
import { SNAPSHOT_PREFIX, transferDatasetByZfs } from './zfs-transfer.js';

export interface TransferEndpoint {
  readonly host: HostConfig;
  readonly transport: SshTransport;
}

export interface ServicePaths {
  readonly service: string;
  readonly sourcePath: string;
  readonly targetPath: string;
}

export type TransferMethodChoice = 'auto' | 'zfs' | 'rsync';

export interface TransferRequest {
  readonly source: TransferEndpoint;
  readonly target: TransferEndpoint;
  readonly services: readonly ServicePaths[];
  /** The snapshot name's tail, e.g. a migration id; default: a UTC timestamp. */
  readonly snapshotTag?: string;
  readonly method?: TransferMethodChoice;
  /**
   * How ZFS streams travel: `direct` (source → target over the source's own
   * ssh), `relay` (through this process), or `auto`: direct when the source
   * can log in to the target, else relay. Default auto.
   */
  readonly route?: 'auto' | 'direct' | 'relay';
  /**
   * The target as the source logs in to it for this transfer (the migration's
   * own key); tried before the configured one. A promise (a key still being
   * made) is awaited only when the route is chosen: inventory and snapshots
   * go on meanwhile.
   */
  readonly targetFromSource?: TargetFromSource | Promise<TargetFromSource | undefined>;
  /** zstd on the wire for ZFS streams: auto (not between loopback addresses), on, off. */
  readonly compress?: CompressionChoice;
  /**
   * Target datasets the migration's journal says it created (nothing was
   * there before it): only those may take `receive -F`. Absent outside a
   * migration: the dataset's own docker-mcp:managed mark decides.
   */
  readonly ownTargetDatasets?: readonly string[];
  /** Services moved at once. Default 2. */
  readonly concurrency?: number;
  /**
   * The route an earlier transfer of the same migration chose and proved
   * (the seed's): taken as it is, so the final sync, inside the outage,
   * does not probe and prove it again.
   */
  readonly knownRoute?: ChosenRoute | Promise<ChosenRoute | undefined>;
  /** The hosts' ZFS, when the caller keeps them between transfers (what each host's zfs and tools can do is probed once). */
  readonly zfs?: { readonly source: ZfsHost; readonly target: ZfsHost };
  /** Leave pruning our older snapshots to the caller (zfs-transfer.ts pruneOlderThan): a migration does it after the outage. */
  readonly pruneLater?: boolean;
  /** Told the route once it is chosen (to hand to the next transfer as knownRoute). */
  readonly onRoute?: (route: ChosenRoute) => void;
  /** At most this many bytes a second per stream (--bwlimit; pv -L, mbuffer -r, rsync --bwlimit, or the relay's own pace). */
  readonly bwlimit?: number;
  /** Ends the running streams (a cancelled migration): their services fail, none is retried. */
  readonly signal?: AbortSignal;
  /** Receive as a standby's copy of this stack (`HOST/STACK`): unmounted, read-only (zfs-transfer.ts). */
  readonly standbyCopy?: string;
  /** A standby's copy a stream arrives in stays one (see ZfsServiceTransfer.keepStandbyCopies). */
  readonly keepStandbyCopies?: boolean;
  readonly onProgress?: ProgressListener;
}

export interface ServiceTransferResult {
  readonly service: string;
  readonly ok: boolean;
  readonly method: 'zfs' | 'rsync';
  readonly sourcePath: string;
  readonly targetPath: string;
  readonly sourceDataset: string | null;
  readonly targetDataset: string | null;
  /** What ensureServiceDataset did on the source (a plain directory is converted first). */
  readonly sourcePreparation: 'existing' | 'created' | 'converted' | null;
  /** What a conversion left on the source and could not remove (the dataset holds the data), or null. */
  readonly sourceLeftover: string | null;
  readonly mode: 'full' | 'incremental' | 'up-to-date' | 'copy' | null;
  readonly route: 'direct' | 'relay' | null;
  readonly compressed: boolean;
  readonly snapshot: string | null;
  /** The stream continued from a receive_resume_token (one this run broke, or one an earlier run left). */
  readonly resumed: boolean;
  /** Our older snapshots that could not be pruned; the transfer still succeeded. */
  readonly pruneWarnings: readonly string[];
  readonly bytes: number;
  readonly seconds: number;
  readonly bytesPerSecond: number;
  /** Dataset properties the user set on the source, set on the target (`name=value`), and those it refused. */
  readonly propertiesSet: readonly string[];
  readonly propertiesNotSet: readonly string[];
  /** `name` is the error's class, so callers can tell a busy path from a refusal. */
  readonly error: { readonly kind: string; readonly name: string; readonly message: string } | null;
}

export interface TransferSummary {
  readonly services_transferred: number;
  readonly total_services: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly results: readonly ServiceTransferResult[];
  /** Why `auto` relayed rather than went direct; null when it went direct or the route was chosen. */
  readonly relayReason?: string | null;
}

export function defaultSnapshotTag(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export async function transferServices(request: TransferRequest): Promise<TransferSummary> {
  const started = Date.now();
  const tag = validateSnapshotPart(request.snapshotTag ?? defaultSnapshotTag());
  const snapshotName = `${SNAPSHOT_PREFIX}${tag}`;
  const names = new Set<string>();
  for (const service of request.services) {
    if (names.has(service.service)) throw new InvalidInputError('service', service.service, 'is listed twice');
    names.add(service.service);
  }
  const sourceZfs = request.zfs?.source ?? new ZfsHost(request.source.transport);
  const targetZfs = request.zfs?.target ?? new ZfsHost(request.target.transport);
  // Start the per-host probes now; the first service to need them waits.
  void sourceZfs.sendFeatures();
  void targetZfs.sendFeatures();
  void sourceZfs.streamTools().catch(() => undefined);
  void targetZfs.streamTools().catch(() => undefined);
  let route: Promise<ChosenRoute> | undefined;
  let relayReason: string | null = null;
  const decideRoute = () => {
    route ??= Promise.resolve(request.knownRoute).then((known) => known ?? chooseRoute(request)).then((chosen) => {
      request.onRoute?.(chosen);
      if (chosen.kind === 'relay' && chosen.reason) {
        relayReason = chosen.reason;
        request.onProgress?.({ type: 'transfer-step', service: '-', message: `relayed through this machine: ${chosen.reason}` });
      }
      return chosen;
    });
    return route;
  };
  // rsync runs on the source: when the source cannot reach the target, it goes through a reverse tunnel from here.
  let tunnel: Promise<ReverseTunnel | undefined> | undefined;
  const rsyncTunnel = () => {
    tunnel ??= decideRoute().then((chosen) =>
      chosen.kind === 'relay' ? request.source.transport.openReverseTunnel(request.target.host.hostname, request.target.host.port) : undefined,
    );
    return tunnel;
  };
  const limit = pLimit(request.concurrency ?? 2);
  const results = await Promise.all(
    request.services.map((service) =>
      limit(() => transferOne(request, service, snapshotName, sourceZfs, targetZfs, decideRoute, rsyncTunnel)),
    ),
  ).finally(async () => {
    const opened = await tunnel?.catch(() => undefined);
    await opened?.close();
  });
  return {
    services_transferred: results.filter((r) => r.ok).length,
    total_services: results.length,
    bytes: results.reduce((sum, r) => sum + r.bytes, 0),
    seconds: (Date.now() - started) / 1000,
    results,
    relayReason,
  };
}

export interface ChosenRoute {
  readonly kind: 'direct' | 'relay';
  /** How the source logs in to the target on the direct route: the migration's own key, or the standing one. */
  readonly targetFromSource: TargetFromSource;
  /** Why `auto` relayed; null when it went direct or the route was chosen. */
  readonly reason: string | null;
}

/**
 * `auto`: direct when the source, with the migration's own key or else with
 * the target's configured one, logs in to the machine this controller knows
 * as the target; otherwise relay, saying why.
 */
async function chooseRoute(request: TransferRequest): Promise<ChosenRoute> {
  const standing = request.target.host;
  const choice = request.route ?? 'auto';
  const own = await request.targetFromSource;
  if (choice !== 'auto') return { kind: choice, targetFromSource: own ?? standing, reason: null };
  const expected = await readTargetIdentity(request.target.transport, standing);
  const candidates = own ? [own, standing] : [standing];
  const reasons: string[] = [];
  for (const candidate of candidates) {
    const check = await checkDirectRoute(request.source.transport, candidate, expected);
    if (check.reaches) return { kind: 'direct', targetFromSource: candidate, reason: null };
    reasons.push(check.reason);
  }
  // rsync relayed through this machine's tunnel still logs in to the target from the source: with the migration's key when there is one.
  return { kind: 'relay', targetFromSource: own ?? standing, reason: [...new Set(reasons)].join('; ') };
}

/** ZFS when both hosts are configured for it and the paths lie under their appdata. */
export function chooseMethod(
  request: { readonly source: { readonly host: HostConfig }; readonly target: { readonly host: HostConfig }; readonly method?: TransferMethodChoice },
  service: ServicePaths,
): 'zfs' | 'rsync' {
  const onZfs = (host: HostConfig, path: string) => {
    if (!host.zfs_capable || !host.zfs_dataset || !host.appdata_path) return false;
    try {
      relativePathInside(host.appdata_path, path);
      return true;
    } catch {
      return false;
    }
  };
  const zfsPossible = onZfs(request.source.host, service.sourcePath) && onZfs(request.target.host, service.targetPath);
  const choice = request.method ?? 'auto';
  if (choice === 'zfs' && !zfsPossible) {
    throw new InvalidInputError('method', 'zfs', `both hosts need ZFS and ${service.service}'s paths must lie under their appdata_path`);
  }
  return choice === 'rsync' || !zfsPossible ? 'rsync' : 'zfs';
}

async function transferOne(
  request: TransferRequest,
  service: ServicePaths,
  snapshotName: string,
  sourceZfs: ZfsHost,
  targetZfs: ZfsHost,
  decideRoute: () => Promise<ChosenRoute>,
  rsyncTunnel: () => Promise<ReverseTunnel | undefined>,
): Promise<ServiceTransferResult> {
  const started = Date.now();
  let method: 'zfs' | 'rsync' = 'rsync';
  const base = { service: service.service, sourcePath: service.sourcePath, targetPath: service.targetPath };
  let partial: Partial<ServiceTransferResult> = {};
  try {
    method = chooseMethod(request, service);
    if (method === 'zfs') {
      const targetDataset = datasetForPath(serviceDatasetLayout(request.target.host), service.targetPath);
      // The route (a key still being made) is waited for only after the snapshot, right before the send.
      const routeChosen = decideRoute().then((chosen) => ({ route: chosen.kind, targetHost: chosen.targetFromSource }));
      routeChosen.catch(() => undefined);
      const [prepared, targetSeen] = await Promise.all([
        ensureServiceDataset(sourceZfs, request.source.host, service.sourcePath),
        refuseToHideDirectory(targetZfs, service.targetPath, targetDataset),
      ]);
      partial = { sourceDataset: prepared.dataset, targetDataset, sourcePreparation: prepared.action, sourceLeftover: prepared.leftover ?? null };
      if (prepared.leftover) request.onProgress?.({ type: 'transfer-step', service: service.service, message: prepared.leftover });
      const outcome = await transferDatasetByZfs({
        service: service.service,
        source: sourceZfs,
        sourceDataset: prepared.dataset,
        target: targetZfs,
        targetDataset,
        snapshotName,
        routeChosen,
        targetSeen,
        sourceHost: request.source.host,
        compress: request.compress ?? 'auto',
        ...(request.bwlimit ? { bwlimit: request.bwlimit } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.pruneLater ? { pruneLater: true } : {}),
        ...(request.standbyCopy ? { standbyCopy: request.standbyCopy } : {}),
        ...(request.keepStandbyCopies ? { keepStandbyCopies: true } : {}),
        ...(request.ownTargetDatasets ? { ownedByMigration: request.ownTargetDatasets.includes(targetDataset) } : {}),
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      });
      return finished(base, method, started, {
        ...partial,
        mode: outcome.mode,
        route: outcome.route,
        compressed: outcome.compressed,
        snapshot: outcome.snapshot,
        resumed: outcome.resumed,
        pruneWarnings: outcome.pruneWarnings,
        bytes: outcome.bytes,
        propertiesSet: outcome.propertiesSet,
        propertiesNotSet: outcome.propertiesNotSet,
      });
    }
    // Checked again right before rsync: a link made since pre-flight would be followed, and --delete empty what it points at.
    const escapes = (await Promise.all([pathsNotContained(request.source, [service.sourcePath]), pathsNotContained(request.target, [service.targetPath])])).flat();
    if (escapes.length > 0) throw new PathOutsideAppdataError(`nothing was copied: ${escapes.join('; ')}`);
    const [tunnel, { targetFromSource }] = await Promise.all([rsyncTunnel(), decideRoute()]);
    const outcome = await transferPathByRsync({
      service: service.service,
      ...(tunnel ? { tunnel } : {}),
      source: request.source.transport,
      sourcePath: service.sourcePath,
      target: request.target.transport,
      targetHost: targetFromSource,
      targetPath: service.targetPath,
      ...(request.bwlimit ? { bwlimit: request.bwlimit } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    });
    return finished(base, method, started, { mode: 'copy', bytes: outcome.bytes, route: tunnel ? 'relay' : 'direct' });
  } catch (error) {
    const kind = error instanceof DockerMcpError ? error.kind : 'failed';
    return {
      ...finished(base, method, started, partial),
      ok: false,
      error: { kind, name: error instanceof Error ? error.name : 'Error', message: describeError(error) },
    };
  }
}

/** A received dataset would be mounted over a plain directory on the target and hide what is in it. */
/** Refuse a non-empty plain directory where the dataset would mount; what the target's dataset looked like, read on the way. */
async function refuseToHideDirectory(target: ZfsHost, path: string, dataset: string): Promise<DatasetInspection> {
  const seen = await target.inspect(dataset);
  if (seen.state) return seen;
  if ((await pathKind(target.transport, path)) !== 'directory') return seen;
  if (!(await directoryIsEmpty(target.transport, path))) {
    throw new ConversionError(
      `on ${target.hostId}: ${path} is a non-empty plain directory; receiving ${dataset} would hide it. Move it away first.`,
    );
  }
  // An empty directory hides nothing; the received dataset mounts in its place.
  await target.transport.exec(command(['rmdir', '--', path]));
  return seen;
}

function finished(
  base: Pick<ServiceTransferResult, 'service' | 'sourcePath' | 'targetPath'>,
  method: 'zfs' | 'rsync',
  started: number,
  fields: Partial<ServiceTransferResult>,
): ServiceTransferResult {
  const seconds = (Date.now() - started) / 1000;
  const bytes = fields.bytes ?? 0;
  return {
    ...base,
    ok: true,
    method,
    sourceDataset: fields.sourceDataset ?? null,
    targetDataset: fields.targetDataset ?? null,
    sourcePreparation: fields.sourcePreparation ?? null,
    sourceLeftover: fields.sourceLeftover ?? null,
    mode: fields.mode ?? null,
    route: fields.route ?? null,
    compressed: fields.compressed ?? false,
    snapshot: fields.snapshot ?? null,
    resumed: fields.resumed ?? false,
    pruneWarnings: fields.pruneWarnings ?? [],
    bytes,
    seconds,
    bytesPerSecond: seconds > 0 ? bytes / seconds : 0,
    propertiesSet: fields.propertiesSet ?? [],
    propertiesNotSet: fields.propertiesNotSet ?? [],
    error: null,
  };
}
