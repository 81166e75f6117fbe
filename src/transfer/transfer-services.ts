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
import type { SshTransport } from '../ssh/transport.js';
import { ConversionError } from '../zfs/errors.js';
import { directoryIsEmpty, pathKind } from '../zfs/path-kind.js';
import { datasetForPath, ensureServiceDataset, serviceDatasetLayout } from '../zfs/service-dataset.js';
import { ZfsHost } from '../zfs/zfs-host.js';
import type { ProgressListener } from './progress.js';
import { transferPathByRsync } from './rsync-transfer.js';
import type { CompressionChoice } from './compression.js';
import { sourceReachesTarget } from './source-to-target-ssh.js';
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
  /** zstd on the wire for ZFS streams: auto (not between loopback addresses), on, off. */
  readonly compress?: CompressionChoice;
  /** Services moved at once. Default 2. */
  readonly concurrency?: number;
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
  readonly mode: 'full' | 'incremental' | 'up-to-date' | 'copy' | null;
  readonly route: 'direct' | 'relay' | null;
  readonly compressed: boolean;
  readonly snapshot: string | null;
  readonly bytes: number;
  readonly seconds: number;
  readonly bytesPerSecond: number;
  /** `name` is the error's class, so callers can tell a busy path from a refusal. */
  readonly error: { readonly kind: string; readonly name: string; readonly message: string } | null;
}

export interface TransferSummary {
  readonly services_transferred: number;
  readonly total_services: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly results: readonly ServiceTransferResult[];
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
  const sourceZfs = new ZfsHost(request.source.transport);
  const targetZfs = new ZfsHost(request.target.transport);
  // Start the per-host probes now; the first service to need them waits.
  void sourceZfs.sendFeatures();
  void targetZfs.sendFeatures();
  void sourceZfs.streamTools().catch(() => undefined);
  void targetZfs.streamTools().catch(() => undefined);
  let route: Promise<'direct' | 'relay'> | undefined;
  const decideRoute = () => {
    const choice = request.route ?? 'auto';
    route ??=
      choice === 'auto'
        ? sourceReachesTarget(request.source.transport, request.target.host).then((reaches) => (reaches ? 'direct' : 'relay'))
        : Promise.resolve(choice);
    return route;
  };
  const limit = pLimit(request.concurrency ?? 2);
  const results = await Promise.all(
    request.services.map((service) =>
      limit(() => transferOne(request, service, snapshotName, sourceZfs, targetZfs, decideRoute)),
    ),
  );
  return {
    services_transferred: results.filter((r) => r.ok).length,
    total_services: results.length,
    bytes: results.reduce((sum, r) => sum + r.bytes, 0),
    seconds: (Date.now() - started) / 1000,
    results,
  };
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
  decideRoute: () => Promise<'direct' | 'relay'>,
): Promise<ServiceTransferResult> {
  const started = Date.now();
  let method: 'zfs' | 'rsync' = 'rsync';
  const base = { service: service.service, sourcePath: service.sourcePath, targetPath: service.targetPath };
  let partial: Partial<ServiceTransferResult> = {};
  try {
    method = chooseMethod(request, service);
    if (method === 'zfs') {
      const targetDataset = datasetForPath(serviceDatasetLayout(request.target.host), service.targetPath);
      const [prepared, , route] = await Promise.all([
        ensureServiceDataset(sourceZfs, request.source.host, service.sourcePath),
        refuseToHideDirectory(targetZfs, service.targetPath, targetDataset),
        decideRoute(),
      ]);
      partial = { sourceDataset: prepared.dataset, targetDataset, sourcePreparation: prepared.action };
      const outcome = await transferDatasetByZfs({
        service: service.service,
        source: sourceZfs,
        sourceDataset: prepared.dataset,
        target: targetZfs,
        targetDataset,
        snapshotName,
        route,
        targetHost: request.target.host,
        sourceHost: request.source.host,
        compress: request.compress ?? 'auto',
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      });
      return finished(base, method, started, { ...partial, mode: outcome.mode, route: outcome.route, compressed: outcome.compressed, snapshot: outcome.snapshot, bytes: outcome.bytes });
    }
    const outcome = await transferPathByRsync({
      service: service.service,
      source: request.source.transport,
      sourcePath: service.sourcePath,
      target: request.target.transport,
      targetHost: request.target.host,
      targetPath: service.targetPath,
      ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    });
    return finished(base, method, started, { mode: 'copy', bytes: outcome.bytes });
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
async function refuseToHideDirectory(target: ZfsHost, path: string, dataset: string): Promise<void> {
  if (await target.dataset(dataset)) return;
  if ((await pathKind(target.transport, path)) !== 'directory') return;
  if (!(await directoryIsEmpty(target.transport, path))) {
    throw new ConversionError(
      `on ${target.hostId}: ${path} is a non-empty plain directory; receiving ${dataset} would hide it. Move it away first.`,
    );
  }
  // An empty directory hides nothing; the received dataset mounts in its place.
  await target.transport.exec(command(['rmdir', '--', path]));
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
    mode: fields.mode ?? null,
    route: fields.route ?? null,
    compressed: fields.compressed ?? false,
    snapshot: fields.snapshot ?? null,
    bytes,
    seconds,
    bytesPerSecond: seconds > 0 ? bytes / seconds : 0,
    error: null,
  };
}
