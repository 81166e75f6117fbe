/**
 * Move one service's dataset to another host: snapshot, decide full or
 * incremental by guid, `zfs send | zfs receive` relayed through this
 * process, check that the snapshot arrived (same guid), prune our older
 * snapshots but keep the newest common one for the next incremental.
 */
import type { HostConfig } from '../config/schema.js';
import { andThen, command, orElse, pipeline, redirect, strictPipeline, type ShellCommand } from '../ssh/quote.js';
import { zfsCommands } from '../zfs/commands.js';
import { ConversionError, DivergedTargetError, EncryptedDatasetError, ForeignReceiveStateError, RefusingToOverwriteError, TargetModifiedError } from '../zfs/errors.js';
import { parseProperties, parseResumeToken, parseSendEstimate } from '../zfs/parse.js';
import { directoryIsEmpty, pathKind } from '../zfs/path-kind.js';
import { parsePropertySources, propertiesToSet, userSetProperties, type PropertyValue } from '../zfs/dataset-properties.js';
import { sendFlags } from '../zfs/send-flags.js';
import { decideSend, type SendDecision, type SnapshotInfo } from '../zfs/snapshot-diff.js';
import type { DatasetInspection, DatasetState, ZfsHost } from '../zfs/zfs-host.js';
import { meterFromProgressLines, ProgressMeter, type ProgressListener } from './progress.js';
import { shouldCompress, type CompressionChoice } from './compression.js';
import { formatRate } from './bwlimit.js';
import { relay } from './relay.js';
import { onTargetFromSource, remoteTextOnTarget, type TargetFromSource } from './source-to-target-ssh.js';

const ZSTD_COMPRESS = command(['zstd', '-1', '-q', '-c']);
const ZSTD_DECOMPRESS = command(['zstd', '-d', '-q', '-c']);

/** Snapshots docker-mcp makes are named `docker-mcp-...`; nothing else is ever pruned. */
export const SNAPSHOT_PREFIX = 'docker-mcp-';

export interface ZfsServiceTransfer {
  readonly service: string;
  readonly source: ZfsHost;
  readonly sourceDataset: string;
  readonly target: ZfsHost;
  readonly targetDataset: string;
  /** The part after "@"; must start with SNAPSHOT_PREFIX. */
  readonly snapshotName: string;
  /**
   * `direct`: the source pipes into its own ssh to the target (needs
   * `targetHost` reachable from the source); `relay`: two SSH streams joined
   * in this process. Default relay.
   */
  readonly route?: 'direct' | 'relay';
  readonly targetHost?: TargetFromSource;
  /**
   * The route and target host when they are still being chosen (a key being
   * made): awaited after the snapshot, before anything is sent; `route` and
   * `targetHost` are then not read.
   */
  readonly routeChosen?: Promise<{ readonly route: 'direct' | 'relay'; readonly targetHost?: TargetFromSource }>;
  /** Both hosts' configuration tells whether the stream crosses a network. */
  readonly sourceHost?: HostConfig;
  /** zstd on the wire: auto (not between loopback addresses), on, off. Default auto. */
  readonly compress?: CompressionChoice;
  readonly onProgress?: ProgressListener;
  /**
   * Whether the migration's journal says it created the target dataset: -F
   * (which rolls back and destroys snapshots) needs that as well as our local
   * mark. Callers without a journal leave it out: the mark alone decides.
   */
  readonly ownedByMigration?: boolean;
  /** The target dataset as the caller read it just before (nothing between changed it): not read again. */
  readonly targetSeen?: DatasetInspection;
  /** At most this many bytes a second (--bwlimit). */
  readonly bwlimit?: number;
  /** Leave our older snapshots for the caller to prune with pruneOlderThan (a migration does it once the stack runs again). */
  readonly pruneLater?: boolean;
  /** Ends the stream (a cancelled migration); it is not resumed. */
  readonly signal?: AbortSignal;
  /**
   * Received as a standby's copy of this stack (`HOST/STACK`): left unmounted
   * and read-only (see ZfsHost.keepAsStandbyCopy). Without it, a standby's
   * copy the stream arrives in is made the stack's own again before it mounts.
   */
  readonly standbyCopy?: string;
  /**
   * A standby's copy the stream arrives in stays one (unmounted, read-only,
   * marked, its snapshots not pruned): a migration's seed, so that a
   * migration that stops before its final sync leaves the standby as it was.
   */
  readonly keepStandbyCopies?: boolean;
}

export interface ZfsTransferOutcome {
  readonly mode: 'full' | 'incremental' | 'up-to-date';
  readonly snapshot: string;
  readonly fromSnapshot: string | null;
  readonly bytes: number;
  readonly estimatedBytes: number | null;
  readonly resumed: boolean;
  readonly route: 'direct' | 'relay' | null;
  readonly compressed: boolean;
  readonly pruned: readonly string[];
  /** Our older snapshots that could not be destroyed (a user's hold on one, say): the transfer still succeeded. */
  readonly pruneWarnings: readonly string[];
  /** Properties the user set on the source, set on the target after the receive (`name=value`). */
  readonly propertiesSet: readonly string[];
  /** Those the target refused (zfs-fuse does not know `acltype`, say), with its words. */
  readonly propertiesNotSet: readonly string[];
}

export async function transferDatasetByZfs(job: ZfsServiceTransfer): Promise<ZfsTransferOutcome> {
  const { source, target, sourceDataset, targetDataset, snapshotName } = job;
  const step = (message: string) => job.onProgress?.({ type: 'transfer-step', service: job.service, message });

  // Each remote command costs a round trip: ask both sides everything at once.
  const [sourceBefore, targetFirstLook, sourceFeatures, targetFeatures, sourceAll] = await Promise.all([
    source.inspect(sourceDataset),
    job.targetSeen ?? target.inspect(targetDataset),
    source.sendFeatures(),
    target.sendFeatures(),
    source.transport.exec(zfsCommands.getAllWithSource(sourceDataset)).then((result) => parsePropertySources(result.stdout)),
  ]);
  refuseEncrypted(source.hostId, sourceDataset, target.hostId, targetDataset, sourceAll);
  const sourceProperties = userSetProperties(sourceAll);
  const sourceSnapshots = sourceBefore.snapshots.some((s) => s.name === snapshotName)
    ? sourceBefore.snapshots
    : (await source.snapshotAndInspect(sourceDataset, snapshotName)).snapshots;
  const to = sourceSnapshots.find((snapshot) => snapshot.name === snapshotName);
  if (!to) throw new Error(`on ${source.hostId}: snapshot ${sourceDataset}@${snapshotName} was created but is not listed`);
  step(`snapshot ${sourceDataset}@${snapshotName} (held)`);

  const resumable = sourceFeatures.resumeTokens && targetFeatures.resumeTokens;
  const flags = sendFlags(sourceFeatures, targetFeatures);
  const [sourceTools, targetTools, { route, targetHost }] = await Promise.all([
    source.streamTools(),
    target.streamTools(),
    job.routeChosen ?? { route: job.route ?? 'relay', targetHost: job.targetHost },
  ]);
  const zstdOnBoth = sourceTools.zstd && targetTools.zstd;
  const compressed =
    job.sourceHost && targetHost
      ? shouldCompress(job.compress ?? 'auto', job.sourceHost, targetHost, zstdOnBoth)
      : job.compress === 'on' && zstdOnBoth;
  const stream = (send: ShellCommand, receive: ShellCommand, meter: ProgressMeter) =>
    streamWithRetries(
      source,
      target,
      targetDataset,
      send,
      receive,
      meter,
      {
        route,
        compressed,
        resumable,
        ...(targetHost ? { targetHost } : {}),
        ...(job.bwlimit ? { bwlimit: job.bwlimit } : {}),
        ...(job.signal ? { signal: job.signal } : {}),
      },
      step,
    );

  // A receive an earlier run left half done: continue it when it is ours and its snapshot is still on the source.
  let targetInfo = targetFirstLook;
  let resumed = false;
  /** What the continued receive was, when it brought the very snapshot asked for. */
  let continuedMode: 'full' | 'incremental' | null = null;
  let continuedBytes = 0;
  // zfs-fuse has no receive_resume_token property at all.
  const partialToken = targetFeatures.resumeTokens && targetInfo.state ? await receiveResumeToken(target, targetDataset) : undefined;
  if (partialToken) {
    const createdByIt = targetInfo.snapshots.length === 0;
    const meter = new ProgressMeter(job.service, null, job.onProgress ?? (() => {}));
    const continued = await settlePartialReceive(source, sourceSnapshots, target, targetDataset, partialToken, step, (send) =>
      stream(send, zfsCommands.receive(targetDataset, { force: false, resumable: true, unmounted: targetFeatures.receiveUnmounted }), meter),
    );
    resumed = continued !== null;
    targetInfo = continued && createdByIt ? await target.claimReceivedAndInspect(targetDataset, continued.name) : await target.inspect(targetDataset);
    if (continued && !createdByIt) await target.hold(targetDataset, continued.name);
    if (continued?.guid === to.guid) continuedMode = createdByIt ? 'full' : 'incremental';
    continuedBytes = meter.bytesDone;
  }

  const targetState = targetInfo.state;
  const keptCopy = job.keepStandbyCopies && targetState?.standbyOf ? targetState.standbyOf : undefined;
  const standbyCopy = job.standbyCopy ?? keptCopy;
  const pruneLater = job.pruneLater === true || keptCopy !== undefined;
  const decision = decideSend(sourceSnapshots, targetState ? targetInfo.snapshots : null, to);
  let force: boolean;
  if (decision.kind === 'incremental' && (await settleChangesSince(target, targetDataset, decision.from, step)) === 'checked') {
    force = false;
  } else {
    force = checkReceiveAllowed(decision, target.hostId, targetDataset, targetState?.managed ?? false, targetInfo.snapshots, job.ownedByMigration ?? true);
  }

  if (decision.kind === 'up-to-date') {
    step(`${target.hostId}:${targetDataset} already has ${snapshotName}`);
    await settleMount(target, targetDataset, standbyCopy, targetInfo.state);
    const prune = pruneLater ? NOT_PRUNED : await pruneOlderSnapshots(source, sourceDataset, sourceSnapshots, target, targetDataset, targetInfo.snapshots, to, step);
    const properties = await copyProperties(target, targetDataset, sourceProperties, step);
    const mode = continuedMode ?? 'up-to-date';
    return { mode, snapshot: snapshotName, fromSnapshot: null, bytes: continuedBytes, estimatedBytes: null, resumed, route: continuedMode ? route : null, compressed, ...prune, ...properties };
  }

  const from = decision.kind === 'incremental' ? decision.from : decision.kind === 'diverged' ? decision.common : null;
  if (!targetState) await refuseParentsThatHide(target, targetDataset);
  const estimate = await estimateStreamSize(source, sourceDataset, to, from, sourceFeatures.sizeEstimate, flags);
  // Relayed bytes are counted on the wire: compressed, they say nothing about the total.
  const meter = new ProgressMeter(job.service, compressed && route === 'relay' ? null : estimate, job.onProgress ?? (() => {}));
  step(`${from ? `incremental from @${from.name}` : 'full'} send to ${target.hostId}:${targetDataset} (${route}${compressed ? ', zstd' : ''}${job.bwlimit ? `, at most ${formatRate(job.bwlimit)}` : ''})`);

  const sendOptions = { snapshot: `${sourceDataset}@${to.name}`, flags, ...(from ? { from: `${sourceDataset}@${from.name}` } : {}) };
  const receive = receiveCommand(targetDataset, { force, resumable, unmounted: targetFeatures.receiveUnmounted, createParent: !targetState });
  resumed = (await stream(zfsCommands.send(sendOptions), receive, meter)) || resumed;
  meter.finish();

  // Only a dataset this receive created is marked as ours; one that was there (a move back, a replica) is not.
  const after = targetState ? await target.holdAndInspect(targetDataset, to.name) : await target.claimReceivedAndInspect(targetDataset, to.name);
  if (!after.snapshots.some((snapshot) => snapshot.guid === to.guid)) {
    throw new Error(`on ${target.hostId}: ${targetDataset}@${to.name} did not arrive (no snapshot with guid ${to.guid})`);
  }
  // Received into a filesystem that was mounted: an old implementation keeps serving its view from before.
  if (!standbyCopy && targetState?.mounted && after.state?.mounted && !targetFeatures.receiveRefreshesMount) {
    await target.remount(targetDataset, { mounted: true });
  } else {
    await settleMount(target, targetDataset, standbyCopy, after.state);
  }
  const prune = pruneLater ? NOT_PRUNED : await pruneOlderSnapshots(source, sourceDataset, sourceSnapshots, target, targetDataset, after.snapshots, to, step);
  const properties = await copyProperties(target, targetDataset, sourceProperties, step);
  return {
    ...properties,
    ...prune,
    mode: from ? 'incremental' : 'full',
    snapshot: snapshotName,
    fromSnapshot: from?.name ?? null,
    bytes: continuedBytes + meter.bytesDone,
    estimatedBytes: estimate,
    resumed,
    route,
    compressed,
  };
}

/**
 * Run one stream, resuming it from the target's token when it breaks (only
 * OpenZFS keeps a partial receive). True when it was resumed.
 */
async function streamWithRetries(
  source: ZfsHost,
  target: ZfsHost,
  targetDataset: string,
  send: ShellCommand,
  receive: ShellCommand,
  meter: ProgressMeter,
  options: { route: 'direct' | 'relay'; compressed: boolean; resumable: boolean; targetHost?: TargetFromSource; bwlimit?: number; signal?: AbortSignal },
  step: (message: string) => void,
): Promise<boolean> {
  let resumed = false;
  let current = send;
  for (let attempt = 1; ; attempt++) {
    try {
      if (options.route === 'direct') {
        if (!options.targetHost) throw new Error('the direct route needs the target host configuration');
        await sendDirect(source, target, options.targetHost, current, receive, meter, options.compressed, options.bwlimit, options.signal);
      } else {
        const cancel = options.signal ? { signal: options.signal } : {};
        const receiving = await target.transport.stream(options.compressed ? pipeline(ZSTD_DECOMPRESS, receive) : receive, { stdin: 'pipe', ...cancel });
        const sending = await source.transport.stream(options.compressed ? pipeline(current, ZSTD_COMPRESS) : current, cancel);
        await relay(sending, receiving, (count) => meter.add(count), options.bwlimit ? { bytesPerSecond: options.bwlimit } : undefined);
      }
      return resumed;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      const resumeToken = options.resumable && attempt < 3 ? await receiveResumeToken(target, targetDataset) : undefined;
      if (!resumeToken) throw error;
      current = zfsCommands.resumeSend(resumeToken);
      resumed = true;
      step(`resuming the interrupted stream (attempt ${attempt + 1})`);
    }
  }
}

/**
 * The target holds a partial `receive -s` from an earlier run. Ours (a
 * `docker-mcp-*` snapshot) and still on the source: continued from its
 * token, and the snapshot it brings returned. Ours but gone from the source:
 * aborted (`receive -A`), null. Anyone else's: refused, left as it is.
 */
async function settlePartialReceive(
  source: ZfsHost,
  sourceSnapshots: readonly SnapshotInfo[],
  target: ZfsHost,
  targetDataset: string,
  token: string,
  step: (message: string) => void,
  continueWith: (send: ShellCommand) => Promise<boolean>,
): Promise<SnapshotInfo | null> {
  const described = await source.transport.exec(zfsCommands.describeResumeToken(token), { okExitCodes: [0, 1, 255] });
  const partial = parseResumeToken(described.stdout);
  const snapshotPart = partial?.toname.split('@')[1] ?? '';
  if (!partial || !snapshotPart.startsWith(SNAPSHOT_PREFIX)) {
    throw new ForeignReceiveStateError(target.hostId, targetDataset, partial?.toname ?? `an unknown snapshot (${source.hostId} cannot read its token)`);
  }
  const onSource = sourceSnapshots.find((snapshot) => snapshot.guid === partial.toguid);
  if (!onSource) {
    step(`aborting the stale partial receive of ${partial.toname} on ${target.hostId}:${targetDataset} (that snapshot is gone from ${source.hostId})`);
    await target.transport.exec(zfsCommands.abortReceive(targetDataset));
    return null;
  }
  step(`continuing the interrupted receive of @${onSource.name} on ${target.hostId}:${targetDataset} from its receive_resume_token`);
  await continueWith(zfsCommands.resumeSend(token));
  return onSource;
}

/**
 * Before an incremental into a dataset that exists: what changed there since
 * the common snapshot? Nothing: fine. Only atimes (`written` counts them,
 * `zfs diff` lists no file): rolled back to the snapshot, deliberately. Real
 * changes: refused, naming the files, so no user's write is ever discarded.
 * 'unknown' where the host has no `written` property (zfs-fuse).
 */
async function settleChangesSince(target: ZfsHost, dataset: string, from: SnapshotInfo, step: (message: string) => void): Promise<'checked' | 'unknown'> {
  const snapshot = `${dataset}@${from.name}`;
  const bytes = await target.writtenSince(dataset, from.name);
  if (bytes === null) return 'unknown';
  if (bytes === 0) return 'checked';
  const diff = await target.transport.exec(zfsCommands.diff(snapshot, dataset));
  const changed = diff.stdout.split('\n').filter(Boolean).map((line) => line.split('\t').slice(1).join(' -> '));
  if (changed.length > 0) throw new TargetModifiedError(target.hostId, dataset, from.name, changed);
  step(`${target.hostId}:${dataset} changed only atimes since @${from.name}: rolled back to it`);
  await target.transport.exec(zfsCommands.rollback(snapshot));
  return 'checked';
}

/** A plain `zfs send` of an encrypted dataset decrypts it: refused, with what to run instead. */
function refuseEncrypted(sourceHost: string, dataset: string, targetHost: string, targetDataset: string, properties: ReadonlyMap<string, PropertyValue>): void {
  const encryption = properties.get('encryption')?.value ?? 'off';
  if (encryption === 'off' || encryption === '-') return;
  throw new EncryptedDatasetError(sourceHost, dataset, encryption, properties.get('encryptionroot')?.value ?? dataset, targetHost, targetDataset);
}

/** Parents the receive would create must not mount over a directory that holds files. */
async function refuseParentsThatHide(target: ZfsHost, dataset: string): Promise<void> {
  const filesystems = new Map((await target.filesystems()).map((fs) => [fs.name, fs]));
  const missing: string[] = [];
  let existing = dataset.slice(0, dataset.lastIndexOf('/'));
  while (existing.includes('/') && !filesystems.has(existing)) {
    missing.unshift(existing);
    existing = existing.slice(0, existing.lastIndexOf('/'));
  }
  const base = filesystems.get(existing)?.mountpoint;
  if (!base?.startsWith('/')) return;
  for (const parent of missing) {
    const mountpoint = `${base}${parent.slice(existing.length)}`;
    await refuseToHide(target, mountpoint, `creating ${parent} would mount it at ${mountpoint}`);
  }
}

/**
 * After a receive: a standby's copy is kept unmounted and read-only; any other
 * dataset is mounted, and a standby's copy the stack now moves into is made
 * writable first. `known`: its state, just read.
 */
async function settleMount(target: ZfsHost, dataset: string, standbyCopy: string | undefined, known: DatasetState | null): Promise<void> {
  if (standbyCopy) {
    if (known?.standbyOf !== standbyCopy || known.mounted) await target.keepAsStandbyCopy(dataset, standbyCopy, known?.mounted ?? false);
    return;
  }
  if (known?.standbyOf) {
    await target.undoStandbyCopy(dataset);
    // Read again: changing its properties may mount it, or take its mountpoint's directory away (zfs-fuse does).
    return mountChecked(target, dataset);
  }
  return mountChecked(target, dataset, known);
}

/** Mount a dataset received unmounted, once its mountpoint hides nothing (`known`: its state, just read). */
export async function mountChecked(target: ZfsHost, dataset: string, known?: DatasetState | null): Promise<void> {
  const state = known === undefined ? await target.dataset(dataset) : known;
  if (!state || state.mounted || !state.mountpoint.startsWith('/')) return;
  await refuseToHide(target, state.mountpoint, `${dataset} was received but not mounted: it would mount at ${state.mountpoint}`);
  await target.mount(dataset);
}

async function refuseToHide(target: ZfsHost, path: string, what: string): Promise<void> {
  const kind = await pathKind(target.transport, path);
  if (kind === 'missing' || (kind === 'directory' && (await directoryIsEmpty(target.transport, path)))) return;
  throw new ConversionError(`on ${target.hostId}: ${what}, where ${kind === 'directory' ? 'a directory holds files' : 'something other than a directory is'}; that would hide them. Move them away first.`);
}

/**
 * `zfs receive`, creating the parent dataset first when the target is new.
 * Parents are not marked as docker-mcp's: it never received into them.
 */
function receiveCommand(dataset: string, options: { force: boolean; resumable: boolean; unmounted: boolean; createParent: boolean }): ShellCommand {
  const receive = zfsCommands.receive(dataset, options);
  const parent = dataset.slice(0, dataset.lastIndexOf('/'));
  if (!options.createParent || !parent.includes('/')) return receive;
  const parentExists = redirect(command(['zfs', 'list', '-H', '-o', 'name', parent]), { stdout: 'null', stderr: 'null' });
  return andThen(orElse(parentExists, zfsCommands.create(parent, { parents: true })), receive);
}

/**
 * The source sends straight to the target over its own ssh, one hop fewer
 * than the relay. Bytes are counted on the source by pv (or dd, which every
 * Linux host has), whose progress lines come back on stderr. mbuffer smooths
 * the receive side when both hosts have it.
 */
async function sendDirect(
  source: ZfsHost,
  target: ZfsHost,
  targetHost: TargetFromSource,
  send: ShellCommand,
  receive: ShellCommand,
  meter: ProgressMeter,
  compressed: boolean,
  bwlimit?: number,
  signal?: AbortSignal,
): Promise<void> {
  const [sourceTools, targetTools] = await Promise.all([source.streamTools(), target.streamTools()]);
  // Counted (and limited) before compression, so progress compares with the stream's size.
  const limit = bwlimit ? ['-L', String(bwlimit)] : [];
  const counter = sourceTools.pv ? command(['pv', '-n', '-b', '-i', '0.5', ...limit]) : command(['dd', 'bs=1M', 'status=progress']);
  if (bwlimit && !sourceTools.pv && !sourceTools.mbuffer) {
    throw new Error(`--bwlimit on the direct route needs pv or mbuffer on ${source.hostId}, which has neither: install one, or add --route relay`);
  }
  const paced = bwlimit && !sourceTools.pv ? [command(['mbuffer', '-q', '-m', '16M', '-r', String(bwlimit)])] : [];
  const buffered = sourceTools.mbuffer && targetTools.mbuffer ? pipeline(command(['mbuffer', '-q', '-m', '128M']), receive) : receive;
  const targetSide = compressed ? pipeline(ZSTD_DECOMPRESS, buffered) : buffered;
  const sourceSide = compressed ? [send, ...paced, counter, ZSTD_COMPRESS] : [send, ...paced, counter];
  // With the migration's own key, the target's gate runs only what was allowed, exactly as sent.
  await targetHost.gate?.allow(remoteTextOnTarget(targetHost, targetSide));
  const running = await source.transport.stream(strictPipeline(...sourceSide, onTargetFromSource(targetHost, targetSide)), signal ? { signal } : {});
  running.stdout.resume();
  // pv -n prints a byte count per line; dd prints "N bytes (...) copied".
  meterFromProgressLines(running.stderr, (line) => {
    const match = /^(\d+)(?: bytes|$)/.exec(line.trim());
    return match?.[1] ? Number(match[1]) : null;
  }, meter);
  await running.done;
}

/**
 * Whether the receive may use -F, or a typed refusal. -F rolls the target
 * back and may destroy its snapshots, so it is only used on datasets this
 * tool created, and never over snapshots it did not make.
 */
export function checkReceiveAllowed(
  decision: SendDecision,
  hostId: string,
  dataset: string,
  managed: boolean,
  targetSnapshots: readonly SnapshotInfo[],
  ownedByMigration = true,
): boolean {
  const ours = managed && ownedByMigration;
  switch (decision.kind) {
    case 'full':
    case 'up-to-date':
      return false;
    case 'no-common-snapshot':
      // A dataset we created and never received into (ensureServiceDataset made it empty).
      if (ours && targetSnapshots.every((s) => s.name.startsWith(SNAPSHOT_PREFIX))) return true;
      throw new RefusingToOverwriteError(hostId, dataset, decision.targetSnapshots);
    case 'diverged':
      if (ours && decision.targetOnly.every((name) => name.startsWith(SNAPSHOT_PREFIX))) return true;
      throw new DivergedTargetError(hostId, dataset, decision.common.name, decision.targetOnly);
    case 'incremental':
      // Only where `written` cannot tell what changed since the common snapshot
      // (zfs-fuse): roll back to it when the dataset is ours or the snapshot is.
      return ours || decision.from.name.startsWith(SNAPSHOT_PREFIX);
  }
}

/**
 * Set on the target what the user set on the source and the target lacks.
 * One command per property: a property the target does not know (zfs-fuse
 * has no `acltype`) is reported, and the others are still set.
 */
async function copyProperties(
  target: ZfsHost,
  dataset: string,
  wanted: ReadonlyMap<string, string>,
  step: (message: string) => void,
): Promise<{ propertiesSet: string[]; propertiesNotSet: string[] }> {
  if (wanted.size === 0) return { propertiesSet: [], propertiesNotSet: [] };
  const current = parsePropertySources((await target.transport.exec(zfsCommands.getAllWithSource(dataset))).stdout);
  const propertiesSet: string[] = [];
  const propertiesNotSet: string[] = [];
  for (const [property, value] of propertiesToSet(wanted, current)) {
    const result = await target.transport.exec(zfsCommands.set(dataset, property, value), { okExitCodes: [0, 1, 2] });
    if (result.exitCode === 0) propertiesSet.push(`${property}=${value}`);
    else propertiesNotSet.push(`${property}=${value} (${result.stderr.trim().split('\n')[0] ?? `exit ${result.exitCode}`})`);
  }
  if (propertiesSet.length > 0) step(`set on ${target.hostId}:${dataset}: ${propertiesSet.join(', ')}`);
  if (propertiesNotSet.length > 0) step(`not set on ${target.hostId}:${dataset}: ${propertiesNotSet.join('; ')}`);
  return { propertiesSet, propertiesNotSet };
}

async function estimateStreamSize(
  source: ZfsHost,
  dataset: string,
  to: SnapshotInfo,
  from: SnapshotInfo | null,
  hasSizeEstimate: boolean,
  flags: readonly string[],
): Promise<number | null> {
  const snapshot = `${dataset}@${to.name}`;
  if (hasSizeEstimate) {
    const result = await source.transport.exec(
      zfsCommands.sendEstimate({ snapshot, flags, ...(from ? { from: `${dataset}@${from.name}` } : {}) }),
      { okExitCodes: [0, 1] },
    );
    const size = parseSendEstimate(result.stdout + result.stderr);
    if (size !== null) return size;
  }
  // Without -nvP: a full stream is about the snapshot's referenced size; an incremental one is unknown.
  return from ? null : (to.referencedBytes ?? null);
}

async function receiveResumeToken(target: ZfsHost, dataset: string): Promise<string | undefined> {
  const result = await target.transport.exec(zfsCommands.get(dataset, ['receive_resume_token']), { okExitCodes: [0, 1, 2] });
  const token = parseProperties(result.stdout).get('receive_resume_token');
  return token && token !== '-' ? token : undefined;
}

const NOT_PRUNED = { pruned: [], pruneWarnings: [] } as const;

/** What a transfer with `pruneLater` left: our snapshots older than `snapshotName` (the one just sent), on both sides. */
export async function pruneOlderThan(
  source: ZfsHost,
  sourceDataset: string,
  target: ZfsHost,
  targetDataset: string,
  snapshotName: string,
  step: (message: string) => void,
): Promise<{ pruned: string[]; pruneWarnings: string[] }> {
  const [sourceInfo, targetInfo] = await Promise.all([source.inspect(sourceDataset), target.inspect(targetDataset)]);
  const keep = sourceInfo.snapshots.find((snapshot) => snapshot.name === snapshotName);
  if (!keep) return { pruned: [], pruneWarnings: [] };
  return pruneOlderSnapshots(source, sourceDataset, sourceInfo.snapshots, target, targetDataset, targetInfo.snapshots, keep, step);
}

/** Delete our snapshots older than `keep` on both sides; `keep` is the newest common one. */
async function pruneOlderSnapshots(
  source: ZfsHost,
  sourceDataset: string,
  sourceSnapshots: readonly SnapshotInfo[],
  target: ZfsHost,
  targetDataset: string,
  targetSnapshots: readonly SnapshotInfo[],
  keep: SnapshotInfo,
  step: (message: string) => void,
): Promise<{ pruned: string[]; pruneWarnings: string[] }> {
  const olderOurs = (snapshots: readonly SnapshotInfo[]) => {
    const keepHere = snapshots.find((snapshot) => snapshot.guid === keep.guid);
    if (!keepHere) return [];
    return snapshots.filter((s) => s.name.startsWith(SNAPSHOT_PREFIX) && s.createtxg < keepHere.createtxg).map((s) => s.name);
  };
  const sides = [
    { host: source, dataset: sourceDataset, names: olderOurs(sourceSnapshots) },
    { host: target, dataset: targetDataset, names: olderOurs(targetSnapshots) },
  ];
  const warnings = (await Promise.all(sides.map((side) => side.host.pruneSnapshots(side.dataset, side.names)))).flat();
  for (const warning of warnings) step(`warning: ${warning}`);
  const pruned = sides.flatMap((side) => side.names.map((name) => `${side.host.hostId}:${side.dataset}@${name}`));
  return { pruned: pruned.filter((name) => !warnings.some((warning) => warning.startsWith(`${name} `))), pruneWarnings: warnings };
}
