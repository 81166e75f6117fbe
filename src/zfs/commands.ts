/**
 * The zfs commands the tool runs, as argument arrays. Every name is validated
 * before it becomes an argument.
 */
import { validateDatasetName, validateSnapshotName } from '../names/validate.js';
import { command, redirect, type ShellCommand } from '../ssh/quote.js';

/** The user property that marks datasets docker-mcp created; only its local value counts (a child inherits it). */
export const MANAGED_PROPERTY = 'docker-mcp:managed';

/** Set on a dataset whose `readonly=on` docker-mcp set when its stack left the host: undone when the stack comes back. */
export const LEFT_READONLY_PROPERTY = 'docker-mcp:left-readonly';

/**
 * Set on a standby's copy of a stack's dataset (`HOST/STACK`): received
 * unmounted, `readonly=on`, `canmount=noauto`. A migration into it clears all
 * three before it mounts it for the stack.
 */
export const STANDBY_PROPERTY = 'docker-mcp:standby-of';

/** The tag of docker-mcp's `zfs hold`s on the snapshots an incremental depends on. */
export const HOLD_TAG = 'docker-mcp';

export const zfsCommands = {
  /** Properties of one dataset or snapshot, as `property<TAB>value` lines, exact numbers. */
  get(datasetOrSnapshot: string, properties: readonly string[]): ShellCommand {
    const name = datasetOrSnapshot.includes('@') ? validateSnapshotName(datasetOrSnapshot) : validateDatasetName(datasetOrSnapshot);
    return command(['zfs', 'get', '-H', '-p', '-o', 'property,value', properties.join(','), name]);
  },

  /**
   * The dataset's state and all its snapshots in one round trip:
   * `name<TAB>property<TAB>value` lines.
   */
  inspect(dataset: string): ShellCommand {
    return command([
      'zfs', 'get', '-H', '-p', '-d', '1', '-o', 'name,property,value,source',
      `type,guid,createtxg,referenced,mountpoint,mounted,${MANAGED_PROPERTY},${STANDBY_PROPERTY}`,
      validateDatasetName(dataset),
    ]);
  },

  create(dataset: string, options: { parents?: boolean; properties?: Readonly<Record<string, string>> } = {}): ShellCommand {
    const properties = Object.entries(options.properties ?? {}).flatMap(([key, value]) => ['-o', `${key}=${value}`]);
    return command(['zfs', 'create', ...(options.parents ? ['-p'] : []), ...properties, validateDatasetName(dataset)]);
  },

  set(dataset: string, property: string, value: string): ShellCommand {
    if (!/^[a-z][a-z0-9_.:-]*$/i.test(property)) throw new Error(`not a ZFS property name: ${JSON.stringify(property)}`);
    return command(['zfs', 'set', `${property}=${value}`, validateDatasetName(dataset)]);
  },

  /** Only ever called on datasets docker-mcp created and whose data exists elsewhere. `recursive: false` fails on one with snapshots or children. */
  destroyDataset(dataset: string, options: { recursive?: boolean } = {}): ShellCommand {
    return command(['zfs', 'destroy', ...(options.recursive === false ? [] : ['-r']), validateDatasetName(dataset)]);
  },

  snapshot(snapshot: string): ShellCommand {
    return command(['zfs', 'snapshot', validateSnapshotName(snapshot)]);
  },

  /** One snapshot of several datasets of one pool, taken atomically (zfs refuses snapshots of several pools in one command). */
  snapshotTogether(snapshots: readonly string[]): ShellCommand {
    const pools = new Set(snapshots.map((snapshot) => snapshot.split('/')[0]?.split('@')[0]));
    if (snapshots.length === 0 || pools.size !== 1) throw new Error(`an atomic snapshot needs datasets of one pool, not ${[...pools].join(', ') || 'none'}`);
    return command(['zfs', 'snapshot', ...snapshots.map(validateSnapshotName)]);
  },

  destroySnapshot(snapshot: string): ShellCommand {
    return command(['zfs', 'destroy', validateSnapshotName(snapshot)]);
  },

  hold(...snapshots: readonly string[]): ShellCommand {
    return command(['zfs', 'hold', HOLD_TAG, ...snapshots.map(validateSnapshotName)]);
  },

  release(snapshot: string): ShellCommand {
    return command(['zfs', 'release', HOLD_TAG, validateSnapshotName(snapshot)]);
  },

  /** Release docker-mcp's holds on every snapshot of a dataset and its children (before destroying them). */
  releaseAll(dataset: string): ShellCommand {
    const script = 'zfs list -H -t snapshot -o name -r "$1" | while read -r snapshot; do zfs release "$2" "$snapshot" 2>/dev/null; done; true';
    return command(['sh', '-c', script, 'sh', validateDatasetName(dataset), HOLD_TAG]);
  },

  /** Roll back to the newest snapshot; refused by zfs when newer snapshots exist (no -r). */
  rollback(snapshot: string): ShellCommand {
    return command(['zfs', 'rollback', validateSnapshotName(snapshot)]);
  },

  /** Files changed since a snapshot, `change<TAB>path` lines. */
  diff(snapshot: string, dataset: string): ShellCommand {
    return command(['zfs', 'diff', '-H', validateSnapshotName(snapshot), validateDatasetName(dataset)]);
  },

  inherit(dataset: string, property: string): ShellCommand {
    if (!/^[a-z][a-z0-9_.:-]*$/i.test(property)) throw new Error(`not a ZFS property name: ${JSON.stringify(property)}`);
    return command(['zfs', 'inherit', property, validateDatasetName(dataset)]);
  },

  /** Continue an interrupted receive: the token carries the snapshot and the flags. */
  resumeSend(token: string): ShellCommand {
    return command(['zfs', 'send', '-t', checkedResumeToken(token)]);
  },

  /** What a resume token continues: `zfs send -nvt` prints its `toguid` and `toname`. */
  describeResumeToken(token: string): ShellCommand {
    return redirect(command(['zfs', 'send', '-n', '-v', '-t', checkedResumeToken(token)]), { stderr: 'stdout' });
  },

  /** Discard a partially received stream (`receive -s` state). */
  abortReceive(dataset: string): ShellCommand {
    return command(['zfs', 'receive', '-A', validateDatasetName(dataset)]);
  },

  /** `flags` from sendFlags(): -L, -e, -c as both hosts allow. A resume token carries its own. */
  send(options: { snapshot: string; from?: string; resumeToken?: string; flags?: readonly string[] }): ShellCommand {
    if (options.resumeToken) return zfsCommands.resumeSend(options.resumeToken);
    const from = options.from ? ['-i', validateSnapshotName(options.from)] : [];
    return command(['zfs', 'send', ...checkedSendFlags(options.flags), ...from, validateSnapshotName(options.snapshot)]);
  },

  /** `zfs send -nvP`: the size of a stream, on hosts that have it; same flags as the send. */
  sendEstimate(options: { snapshot: string; from?: string; flags?: readonly string[] }): ShellCommand {
    const from = options.from ? ['-i', validateSnapshotName(options.from)] : [];
    return command(['zfs', 'send', '-n', '-v', '-P', ...checkedSendFlags(options.flags), ...from, validateSnapshotName(options.snapshot)]);
  },

  /** Every property with its value and source: `property<TAB>value<TAB>source` lines. */
  getAllWithSource(dataset: string): ShellCommand {
    return command(['zfs', 'get', '-H', '-p', '-o', 'property,value,source', 'all', validateDatasetName(dataset)]);
  },

  /** `unmounted`: `-u`, mounted later by the caller once it checked what the mount would hide. */
  receive(dataset: string, options: { force: boolean; resumable: boolean; unmounted?: boolean }): ShellCommand {
    return command([
      'zfs',
      'receive',
      ...(options.force ? ['-F'] : []),
      ...(options.resumable ? ['-s'] : []),
      ...(options.unmounted ? ['-u'] : []),
      validateDatasetName(dataset),
    ]);
  },

  unmount(dataset: string): ShellCommand {
    return command(['zfs', 'unmount', validateDatasetName(dataset)]);
  },

  mount(dataset: string): ShellCommand {
    return command(['zfs', 'mount', validateDatasetName(dataset)]);
  },
};

const SEND_FLAGS = new Set(['-L', '-e', '-c']);

function checkedSendFlags(flags: readonly string[] = []): readonly string[] {
  for (const flag of flags) if (!SEND_FLAGS.has(flag)) throw new Error(`not a send flag docker-mcp uses: ${flag}`);
  return flags;
}

function checkedResumeToken(token: string): string {
  if (!/^[0-9a-f]+-[0-9a-f-]+$/i.test(token)) throw new Error(`not a receive_resume_token: ${JSON.stringify(token.slice(0, 40))}`);
  return token;
}
