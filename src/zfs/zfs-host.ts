/**
 * ZFS on one host, over its SSH transport: typed answers to the questions the
 * transfer and conversion code ask. Features are read once from the host's
 * own `zfs` usage text.
 */
import { parseZfsFilesystems, type ZfsFilesystem } from '../host/parsers.js';
import { keepZfsFeatures, NO_ZFS_FEATURES, parseZfsUsage, zfsFeaturesFound, type ZfsSendFeatures } from '../host/zfs-features.js';
import { recallProbe } from '../host/probe-memo.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandFailedError } from '../ssh/errors.js';
import { andThen, command, orElse, redirect, sequence, type ShellCommand } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';
import { LEFT_READONLY_PROPERTY, MANAGED_PROPERTY, STANDBY_PROPERTY, zfsCommands } from './commands.js';
import { parseBytes, parseDatasetListing, parseProperties } from './parse.js';
import type { SnapshotInfo } from './snapshot-diff.js';

export interface DatasetState {
  readonly name: string;
  readonly mountpoint: string;
  readonly mounted: boolean;
  readonly referencedBytes: number;
  /** Created by docker-mcp: our user property is set on it, not inherited from a parent. */
  readonly managed: boolean;
  /** A standby's copy (`HOST/STACK` of the stack it copies), set locally by a standby pass; null otherwise. */
  readonly standbyOf: string | null;
}

export interface StreamTools {
  readonly pv: boolean;
  readonly mbuffer: boolean;
  readonly zstd: boolean;
}

export interface DatasetInspection {
  readonly state: DatasetState | null;
  readonly snapshots: SnapshotInfo[];
}

/** How often a "busy" answer from zfs is tried again (about 4 s in all). */
const BUSY_ATTEMPTS = 20;

/** What a host has installed, asked once per connection: every phase makes a ZfsHost of its own. */
const featuresByConnection = new WeakMap<SshTransport, Promise<ZfsSendFeatures>>();
const toolsByConnection = new WeakMap<SshTransport, Promise<StreamTools>>();

/** The answer asked once per connection, or asked again after a failure. */
function remembered<T>(answers: WeakMap<SshTransport, Promise<T>>, transport: SshTransport, ask: () => Promise<T>): Promise<T> {
  const known = answers.get(transport);
  if (known) return known;
  const asked = ask();
  answers.set(transport, asked);
  asked.catch(() => {
    if (answers.get(transport) === asked) answers.delete(transport);
  });
  return asked;
}

export class ZfsHost {
  constructor(readonly transport: SshTransport) {}

  get hostId(): string {
    return this.transport.hostId;
  }

  /** Which of the optional stream helpers the host has. */
  streamTools(): Promise<StreamTools> {
    return remembered(toolsByConnection, this.transport, () =>
      this.transport
        .exec(command(['sh', '-c', 'for tool in pv mbuffer zstd; do command -v "$tool" >/dev/null && echo "$tool"; done; true']))
        .then((result) => {
          const present = new Set(result.stdout.split('\n'));
          return { pv: present.has('pv'), mbuffer: present.has('mbuffer'), zstd: present.has('zstd') };
        }),
    );
  }

  /** A probe that failed is not remembered: this call goes on without the optional features, the next one asks again. */
  sendFeatures(): Promise<ZfsSendFeatures> {
    return remembered(featuresByConnection, this.transport, async () => {
      const known = await recallProbe(this.transport.host, 'zfs-features', zfsFeaturesFound);
      if (known) return known;
      const result = await this.transport.exec(redirect(command(['zfs']), { stderr: 'stdout' }), { okExitCodes: [0, 1, 2] });
      const features = parseZfsUsage(result.stdout);
      await keepZfsFeatures(this.transport.host, features);
      return features;
    }).catch(() => NO_ZFS_FEATURES);
  }

  /** The dataset's state and snapshots in one round trip; state null when it does not exist. */
  async inspect(name: string): Promise<DatasetInspection> {
    return this.inspectWith(zfsCommands.inspect(name), name, { joinInFlight: true });
  }

  /** The dataset's state, or null when it does not exist. */
  async dataset(name: string): Promise<DatasetState | null> {
    return (await this.inspect(name)).state;
  }

  /**
   * Take a snapshot, hold it (a pruner cannot destroy what the next
   * incremental depends on), and return the dataset's inspection after it,
   * in one round trip.
   */
  async snapshotAndInspect(dataset: string, snapshotName: string): Promise<DatasetInspection> {
    const snapshot = `${dataset}@${snapshotName}`;
    return this.inspectWith(andThen(zfsCommands.snapshot(snapshot), zfsCommands.hold(snapshot), zfsCommands.inspect(dataset)), dataset);
  }

  /**
   * One snapshot of all the datasets at the same instant: one `zfs snapshot`
   * per pool (OpenZFS takes those atomically), all held, in one round trip.
   * Where zfs takes one snapshot per command (zfs-fuse), one after another in
   * that same round trip: false is returned, the snapshots are not atomic.
   */
  async snapshotTogether(datasets: readonly string[], snapshotName: string): Promise<{ atomic: boolean }> {
    const { atomicSnapshots } = await this.sendFeatures();
    const groups = new Map<string, string[]>();
    for (const dataset of datasets) {
      const group = atomicSnapshots ? (dataset.split('/')[0] as string) : dataset;
      groups.set(group, [...(groups.get(group) ?? []), `${dataset}@${snapshotName}`]);
    }
    const snapshots = [...groups.values()];
    await this.transport.exec(andThen(...snapshots.map((ofGroup) => zfsCommands.snapshotTogether(ofGroup)), zfsCommands.hold(...snapshots.flat())));
    return { atomic: atomicSnapshots && groups.size === 1 };
  }

  /**
   * Keep a received dataset as a standby's copy: unmounted, read-only, not
   * mounted at boot, marked with the stack it copies. One round trip.
   * `rollBackTo`: first drop what was written since that snapshot (the
   * dataset's newest), as a failed move's start there wrote it.
   */
  async keepAsStandbyCopy(dataset: string, copyOf: string, mounted: boolean, options: { rollBackTo?: string } = {}): Promise<void> {
    const unmount = mounted ? [zfsCommands.unmount(dataset)] : [];
    const rollBack = options.rollBackTo ? [zfsCommands.rollback(`${dataset}@${options.rollBackTo}`)] : [];
    await this.transport.exec(
      andThen(
        ...unmount,
        ...rollBack,
        zfsCommands.set(dataset, 'canmount', 'noauto'),
        zfsCommands.set(dataset, 'readonly', 'on'),
        zfsCommands.set(dataset, STANDBY_PROPERTY, copyOf),
      ),
    );
  }

  /** A standby's copy that a stack moves into: writable and mounted at boot again, no longer marked. */
  async undoStandbyCopy(dataset: string): Promise<void> {
    // canmount cannot be inherited: on is its default.
    await this.transport.exec(andThen(zfsCommands.inherit(dataset, 'readonly'), zfsCommands.set(dataset, 'canmount', 'on'), zfsCommands.inherit(dataset, STANDBY_PROPERTY)));
  }

  /** Hold a snapshot that arrived (a second hold of ours is refused by zfs, and harmless). */
  async hold(dataset: string, snapshotName: string): Promise<void> {
    await this.transport.exec(redirect(zfsCommands.hold(`${dataset}@${snapshotName}`), { stderr: 'null' }), { okExitCodes: [0, 1] });
  }

  /** Hold a snapshot that arrived (a hold zfs refuses is no error: it is checked by its guid in the listing), then inspect, in one round trip. */
  async holdAndInspect(dataset: string, snapshotName: string): Promise<DatasetInspection> {
    const hold = orElse(redirect(zfsCommands.hold(`${dataset}@${snapshotName}`), { stderr: 'null' }), command(['true']));
    return this.inspectWith(andThen(hold, zfsCommands.inspect(dataset)), dataset);
  }

  /** Mark the dataset as ours (a receive created it) and hold the snapshot it arrived with, then inspect it, in one round trip. */
  async claimReceivedAndInspect(dataset: string, snapshotName: string): Promise<DatasetInspection> {
    const hold = orElse(zfsCommands.hold(`${dataset}@${snapshotName}`), command(['true']));
    return this.inspectWith(andThen(zfsCommands.set(dataset, MANAGED_PROPERTY, 'yes'), hold, zfsCommands.inspect(dataset)), dataset);
  }

  /**
   * Release and destroy snapshots of ours. A snapshot that cannot go (a
   * user's own hold on it, a clone) is a warning, never a failure: the
   * transfer it follows has succeeded.
   */
  async pruneSnapshots(dataset: string, names: readonly string[]): Promise<string[]> {
    const warnings = await Promise.all(
      names.map(async (name) => {
        const snapshot = `${dataset}@${name}`;
        const prune = sequence(redirect(zfsCommands.release(snapshot), { stderr: 'null' }), zfsCommands.destroySnapshot(snapshot));
        const result = await this.transport.exec(prune, { okExitCodes: [0, 1, 2] });
        return result.exitCode === 0 ? null : `${this.hostId}:${snapshot} was not pruned (${result.stderr.trim().split('\n')[0] ?? `exit ${result.exitCode}`})`;
      }),
    );
    return warnings.filter((warning): warning is string => warning !== null);
  }

  private async inspectWith(cmd: ShellCommand, name: string, options: { readonly joinInFlight?: boolean } = {}): Promise<DatasetInspection> {
    const result = await this.transport.exec(cmd, { okExitCodes: [0, 1, 2], ...options });
    if (result.exitCode !== 0) {
      if (/does not exist/.test(result.stderr)) return { state: null, snapshots: [] };
      throw new CommandFailedError(this.hostId, cmd.text, result.exitCode, result.stderr);
    }
    const listing = parseDatasetListing(result.stdout, name);
    const properties = listing.properties;
    if (!properties) return { state: null, snapshots: [] };
    return {
      state: {
        name,
        mountpoint: properties.get('mountpoint') ?? '',
        mounted: properties.get('mounted') === 'yes',
        referencedBytes: Number(properties.get('referenced') ?? 0),
        managed: properties.get(MANAGED_PROPERTY) === 'yes' && listing.localProperties.has(MANAGED_PROPERTY),
        standbyOf: listing.localProperties.has(STANDBY_PROPERTY) ? (properties.get(STANDBY_PROPERTY) ?? null) : null,
      },
      snapshots: listing.snapshots,
    };
  }

  /** Every mounted-or-not filesystem on the host with its mountpoint. */
  async filesystems(): Promise<ZfsFilesystem[]> {
    const result = await this.transport.exec(command(['zfs', 'get', '-H', '-p', '-o', 'name,property,value', 'type,mountpoint,available']), { joinInFlight: true });
    return parseZfsFilesystems(result.stdout);
  }

  /** The dataset's `encryption` (`off`, `aes-256-gcm` ...), or null when it does not exist or the host has no encryption (zfs-fuse). */
  async encryption(dataset: string): Promise<string | null> {
    const result = await this.transport.exec(zfsCommands.get(dataset, ['encryption']), { okExitCodes: [0, 1, 2], joinInFlight: true });
    return result.exitCode === 0 ? (parseProperties(result.stdout).get('encryption') ?? null) : null;
  }

  async snapshots(dataset: string): Promise<SnapshotInfo[]> {
    return (await this.inspect(dataset)).snapshots;
  }

  /** Create a dataset (and missing parents), marked as ours. */
  async createDataset(dataset: string): Promise<void> {
    await this.transport.exec(zfsCommands.create(dataset, { parents: true, properties: { [MANAGED_PROPERTY]: 'yes' } }));
  }

  async markManaged(dataset: string): Promise<void> {
    await this.transport.exec(zfsCommands.set(dataset, MANAGED_PROPERTY, 'yes'));
  }

  /**
   * Destroy a dataset docker-mcp created (callers check that its data exists
   * elsewhere). zfs-fuse unmounts on the first try and then reports "dataset
   * is busy" for a moment, so a busy answer is retried briefly.
   */
  async destroyDataset(dataset: string, options: { recursive?: boolean } = {}): Promise<void> {
    // Our holds would make zfs refuse; a hold someone else put still does.
    await this.transport.exec(zfsCommands.releaseAll(dataset), { okExitCodes: [0, 1] });
    await this.retryWhileBusy(zfsCommands.destroyDataset(dataset, options));
  }

  /**
   * Mount a dataset. zfs-fuse answers "mountpoint or dataset is busy" for a
   * moment after an unmount or a receive (seen under concurrent migrations),
   * so that answer is retried briefly; any other failure is thrown at once.
   */
  async mount(dataset: string): Promise<void> {
    await this.retryWhileBusy(zfsCommands.mount(dataset));
  }

  /**
   * Unmount and mount again, so that a fresh mount serves what was just
   * received (zfs-fuse serves its cached view until then). `mounted`: the
   * caller has just seen it mounted, which saves asking.
   */
  async remount(dataset: string, known: { mounted?: boolean } = {}): Promise<void> {
    const mounted = known.mounted ?? (await this.dataset(dataset))?.mounted ?? false;
    if (mounted) await this.retryWhileBusy(zfsCommands.unmount(dataset));
    await this.mount(dataset);
  }

  /** Run a zfs command, again while zfs-fuse calls the dataset busy; any other failure is thrown at once. */
  private async retryWhileBusy(zfsCommand: ShellCommand): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.transport.exec(zfsCommand, { okExitCodes: [0, 1] });
      if (result.exitCode === 0) return;
      if (!/busy/.test(result.stderr) || attempt >= BUSY_ATTEMPTS) {
        throw new CommandFailedError(this.hostId, zfsCommand.text, result.exitCode, result.stderr);
      }
      await sleep(250 * Math.min(attempt, 4));
    }
  }

  async snapshot(dataset: string, name: string): Promise<SnapshotInfo> {
    const created = (await this.snapshotAndInspect(dataset, name)).snapshots.find((snapshot) => snapshot.name === name);
    if (!created) throw new Error(`on ${this.hostId}: snapshot ${dataset}@${name} was created but is not listed`);
    return created;
  }

  async destroySnapshot(dataset: string, name: string): Promise<void> {
    await this.transport.exec(zfsCommands.destroySnapshot(`${dataset}@${name}`));
  }

  /**
   * The copy a stack left behind must not drift (reading it changes atimes,
   * which OpenZFS counts as a modification): readonly while the stack runs
   * elsewhere. Marked, so that only what docker-mcp set is undone; a dataset
   * the user made readonly is left as it is.
   */
  async leaveReadonly(dataset: string): Promise<boolean> {
    const current = parseDatasetListing(
      (await this.transport.exec(command(['zfs', 'get', '-H', '-p', '-o', 'name,property,value,source', 'readonly', dataset]))).stdout,
      dataset,
    );
    if (current.properties?.get('readonly') === 'on') return false;
    await this.transport.exec(andThen(zfsCommands.set(dataset, LEFT_READONLY_PROPERTY, 'yes'), zfsCommands.set(dataset, 'readonly', 'on')));
    return true;
  }

  /** Bytes written to the dataset since its snapshot; null where zfs cannot tell (zfs-fuse has no `written@`). */
  async writtenSince(dataset: string, snapshotName: string): Promise<number | null> {
    const property = `written@${snapshotName}`;
    const result = await this.transport.exec(zfsCommands.get(dataset, [property]), { okExitCodes: [0, 1, 2] });
    return result.exitCode === 0 ? parseBytes(parseProperties(result.stdout).get(property)) : null;
  }

  /** Undo leaveReadonly when the stack comes back: only where docker-mcp set it. */
  async undoLeftReadonly(dataset: string): Promise<boolean> {
    const listing = parseDatasetListing(
      (await this.transport.exec(command(['zfs', 'get', '-H', '-p', '-o', 'name,property,value,source', LEFT_READONLY_PROPERTY, dataset]))).stdout,
      dataset,
    );
    if (!listing.localProperties.has(LEFT_READONLY_PROPERTY)) return false;
    await this.transport.exec(andThen(zfsCommands.inherit(dataset, 'readonly'), zfsCommands.inherit(dataset, LEFT_READONLY_PROPERTY)));
    return true;
  }
}
