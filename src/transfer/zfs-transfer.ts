/**
 * Move one service's dataset to another host: snapshot, decide full or
 * incremental by guid, `zfs send | zfs receive` relayed through this
 * process, check that the snapshot arrived (same guid), prune our older
 * snapshots but keep the newest common one for the next incremental.
 */
import type { HostConfig } from '../config/schema.js';
import { andThen, command, orElse, pipeline, redirect, strictPipeline, type ShellCommand } from '../ssh/quote.js';
import { MANAGED_PROPERTY, zfsCommands } from '../zfs/commands.js';
import { DivergedTargetError, RefusingToOverwriteError } from '../zfs/errors.js';
import { parseProperties, parseSendEstimate } from '../zfs/parse.js';
import { decideSend, type SendDecision, type SnapshotInfo } from '../zfs/snapshot-diff.js';
import type { ZfsHost } from '../zfs/zfs-host.js';
import { meterFromProgressLines, ProgressMeter, type ProgressListener } from './progress.js';
import { shouldCompress, type CompressionChoice } from './compression.js';
import { relay } from './relay.js';
import { onTargetFromSource } from './source-to-target-ssh.js';

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
  readonly targetHost?: HostConfig;
  /** Both hosts' configuration tells whether the stream crosses a network. */
  readonly sourceHost?: HostConfig;
  /** zstd on the wire: auto (not between loopback addresses), on, off. Default auto. */
  readonly compress?: CompressionChoice;
  readonly onProgress?: ProgressListener;
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
}

export async function transferDatasetByZfs(job: ZfsServiceTransfer): Promise<ZfsTransferOutcome> {
  const { source, target, sourceDataset, targetDataset, snapshotName } = job;
  const step = (message: string) => job.onProgress?.({ type: 'transfer-step', service: job.service, message });

  // Each remote command costs a round trip: ask both sides everything at once.
  const [sourceBefore, targetInfo, sourceFeatures, targetFeatures] = await Promise.all([
    source.inspect(sourceDataset),
    target.inspect(targetDataset),
    source.sendFeatures(),
    target.sendFeatures(),
  ]);
  const sourceSnapshots = sourceBefore.snapshots.some((s) => s.name === snapshotName)
    ? sourceBefore.snapshots
    : (await source.snapshotAndInspect(sourceDataset, snapshotName)).snapshots;
  const to = sourceSnapshots.find((snapshot) => snapshot.name === snapshotName);
  if (!to) throw new Error(`on ${source.hostId}: snapshot ${sourceDataset}@${snapshotName} was created but is not listed`);
  step(`snapshot ${sourceDataset}@${snapshotName}`);

  const targetState = targetInfo.state;
  const decision = decideSend(sourceSnapshots, targetState ? targetInfo.snapshots : null, to);
  const force = checkReceiveAllowed(decision, target.hostId, targetDataset, targetState?.managed ?? false, targetInfo.snapshots);

  if (decision.kind === 'up-to-date') {
    step(`${target.hostId}:${targetDataset} already has ${snapshotName}`);
    const pruned = await pruneOlderSnapshots(source, sourceDataset, sourceSnapshots, target, targetDataset, targetInfo.snapshots, to);
    return { mode: 'up-to-date', snapshot: snapshotName, fromSnapshot: null, bytes: 0, estimatedBytes: 0, resumed: false, route: null, compressed: false, pruned };
  }

  const from = decision.kind === 'incremental' ? decision.from : decision.kind === 'diverged' ? decision.common : null;
  const resumable = sourceFeatures.resumeTokens && targetFeatures.resumeTokens;
  const estimate = await estimateStreamSize(source, sourceDataset, to, from, sourceFeatures.sizeEstimate);
  const route = job.route ?? 'relay';
  const [sourceTools, targetTools] = await Promise.all([source.streamTools(), target.streamTools()]);
  const zstdOnBoth = sourceTools.zstd && targetTools.zstd;
  const compressed =
    job.sourceHost && job.targetHost
      ? shouldCompress(job.compress ?? 'auto', job.sourceHost, job.targetHost, zstdOnBoth)
      : job.compress === 'on' && zstdOnBoth;
  // Relayed bytes are counted on the wire: compressed, they say nothing about the total.
  const meter = new ProgressMeter(job.service, compressed && route === 'relay' ? null : estimate, job.onProgress ?? (() => {}));
  step(`${from ? `incremental from @${from.name}` : 'full'} send to ${target.hostId}:${targetDataset} (${route}${compressed ? ', zstd' : ''})`);

  const sendOptions = { snapshot: `${sourceDataset}@${to.name}`, ...(from ? { from: `${sourceDataset}@${from.name}` } : {}) };
  const receive = receiveCommand(targetDataset, { force, resumable, createParent: !targetState });
  let resumed = false;
  let resumeToken: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const send = zfsCommands.send(resumeToken ? { ...sendOptions, resumeToken } : sendOptions);
    try {
      if (route === 'direct') {
        if (!job.targetHost) throw new Error('the direct route needs the target host configuration');
        await sendDirect(source, target, job.targetHost, send, receive, meter, compressed);
      } else {
        const receiving = await target.transport.stream(compressed ? pipeline(ZSTD_DECOMPRESS, receive) : receive, { stdin: 'pipe' });
        const sending = await source.transport.stream(compressed ? pipeline(send, ZSTD_COMPRESS) : send);
        await relay(sending, receiving, (count) => meter.add(count));
      }
      break;
    } catch (error) {
      // Only OpenZFS keeps a partial receive that can be resumed.
      resumeToken = resumable && attempt < 3 ? await receiveResumeToken(target, targetDataset) : undefined;
      if (!resumeToken) throw error;
      resumed = true;
      step(`resuming the interrupted stream (attempt ${attempt + 1})`);
    }
  }
  meter.finish();

  const after = await target.markManagedAndInspect(targetDataset);
  if (!after.snapshots.some((snapshot) => snapshot.guid === to.guid)) {
    throw new Error(`on ${target.hostId}: ${targetDataset}@${to.name} did not arrive (no snapshot with guid ${to.guid})`);
  }
  if (after.state && !after.state.mounted) {
    await target.transport.exec(zfsCommands.mount(targetDataset));
  } else if (targetState?.mounted) {
    // Received into a mounted filesystem: zfs-fuse keeps serving what the
    // kernel cached before the receive until it is mounted afresh.
    await target.transport.exec(andThen(zfsCommands.unmount(targetDataset), zfsCommands.mount(targetDataset)), { okExitCodes: [0, 1] });
  }
  const pruned = await pruneOlderSnapshots(source, sourceDataset, sourceSnapshots, target, targetDataset, after.snapshots, to);
  return {
    mode: from ? 'incremental' : 'full',
    snapshot: snapshotName,
    fromSnapshot: from?.name ?? null,
    bytes: meter.bytesDone,
    estimatedBytes: estimate,
    resumed,
    route,
    compressed,
    pruned,
  };
}

/** `zfs receive`, creating the parent dataset first when the target is new. */
function receiveCommand(dataset: string, options: { force: boolean; resumable: boolean; createParent: boolean }): ShellCommand {
  const receive = zfsCommands.receive(dataset, options);
  const parent = dataset.slice(0, dataset.lastIndexOf('/'));
  if (!options.createParent || !parent.includes('/')) return receive;
  const parentExists = redirect(command(['zfs', 'list', '-H', '-o', 'name', parent]), { stdout: 'null', stderr: 'null' });
  return andThen(orElse(parentExists, zfsCommands.create(parent, { parents: true, properties: { [MANAGED_PROPERTY]: 'yes' } })), receive);
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
  targetHost: HostConfig,
  send: ShellCommand,
  receive: ShellCommand,
  meter: ProgressMeter,
  compressed: boolean,
): Promise<void> {
  const [sourceTools, targetTools] = await Promise.all([source.streamTools(), target.streamTools()]);
  // Counted before compression, so progress compares with the stream's size.
  const counter = sourceTools.pv ? command(['pv', '-n', '-b', '-i', '0.5']) : command(['dd', 'bs=1M', 'status=progress']);
  const buffered = sourceTools.mbuffer && targetTools.mbuffer ? pipeline(command(['mbuffer', '-q', '-m', '128M']), receive) : receive;
  const targetSide = compressed ? pipeline(ZSTD_DECOMPRESS, buffered) : buffered;
  const sourceSide = compressed ? [send, counter, ZSTD_COMPRESS] : [send, counter];
  const running = await source.transport.stream(strictPipeline(...sourceSide, onTargetFromSource(targetHost, targetSide)));
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
): boolean {
  switch (decision.kind) {
    case 'full':
    case 'up-to-date':
      return false;
    case 'no-common-snapshot':
      // A dataset we created and never received into (ensureServiceDataset made it empty).
      if (managed && targetSnapshots.every((s) => s.name.startsWith(SNAPSHOT_PREFIX))) return true;
      throw new RefusingToOverwriteError(hostId, dataset, decision.targetSnapshots);
    case 'diverged':
      if (managed && decision.targetOnly.every((name) => name.startsWith(SNAPSHOT_PREFIX))) return true;
      throw new DivergedTargetError(hostId, dataset, decision.common.name, decision.targetOnly);
    case 'incremental':
      // The target may have changed since the common snapshot (it was mounted):
      // roll back to it when the dataset is ours or the snapshot is (a move back).
      return managed || decision.from.name.startsWith(SNAPSHOT_PREFIX);
  }
}

async function estimateStreamSize(
  source: ZfsHost,
  dataset: string,
  to: SnapshotInfo,
  from: SnapshotInfo | null,
  hasSizeEstimate: boolean,
): Promise<number | null> {
  const snapshot = `${dataset}@${to.name}`;
  if (hasSizeEstimate) {
    const result = await source.transport.exec(
      zfsCommands.sendEstimate({ snapshot, ...(from ? { from: `${dataset}@${from.name}` } : {}) }),
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

/** Delete our snapshots older than `keep` on both sides; `keep` is the newest common one. */
async function pruneOlderSnapshots(
  source: ZfsHost,
  sourceDataset: string,
  sourceSnapshots: readonly SnapshotInfo[],
  target: ZfsHost,
  targetDataset: string,
  targetSnapshots: readonly SnapshotInfo[],
  keep: SnapshotInfo,
): Promise<string[]> {
  const olderOurs = (snapshots: readonly SnapshotInfo[]) => {
    const keepHere = snapshots.find((snapshot) => snapshot.guid === keep.guid);
    if (!keepHere) return [];
    return snapshots.filter((s) => s.name.startsWith(SNAPSHOT_PREFIX) && s.createtxg < keepHere.createtxg).map((s) => s.name);
  };
  const sides = [
    { host: source, dataset: sourceDataset, names: olderOurs(sourceSnapshots) },
    { host: target, dataset: targetDataset, names: olderOurs(targetSnapshots) },
  ];
  await Promise.all(sides.map((side) => side.host.destroySnapshots(side.dataset, side.names)));
  return sides.flatMap((side) => side.names.map((name) => `${side.host.hostId}:${side.dataset}@${name}`));
}
