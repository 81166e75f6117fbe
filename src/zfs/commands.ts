/**
 * The zfs commands the tool runs, as argument arrays. Every name is validated
 * before it becomes an argument.
 */
import { validateDatasetName, validateSnapshotName } from '../names/validate.js';
import { command, type ShellCommand } from '../ssh/quote.js';

/** The user property that marks datasets docker-mcp created. */
export const MANAGED_PROPERTY = 'docker-mcp:managed';

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
      'zfs', 'get', '-H', '-p', '-d', '1', '-o', 'name,property,value',
      `type,guid,createtxg,referenced,mountpoint,mounted,${MANAGED_PROPERTY}`,
      validateDatasetName(dataset),
    ]);
  },

  create(dataset: string, options: { parents?: boolean; properties?: Readonly<Record<string, string>> } = {}): ShellCommand {
    const properties = Object.entries(options.properties ?? {}).flatMap(([key, value]) => ['-o', `${key}=${value}`]);
    return command(['zfs', 'create', ...(options.parents ? ['-p'] : []), ...properties, validateDatasetName(dataset)]);
  },

  set(dataset: string, property: string, value: string): ShellCommand {
    return command(['zfs', 'set', `${property}=${value}`, validateDatasetName(dataset)]);
  },

  /** Only ever called on datasets docker-mcp created and whose data exists elsewhere. */
  destroyDataset(dataset: string): ShellCommand {
    return command(['zfs', 'destroy', '-r', validateDatasetName(dataset)]);
  },

  snapshot(snapshot: string): ShellCommand {
    return command(['zfs', 'snapshot', validateSnapshotName(snapshot)]);
  },

  destroySnapshot(snapshot: string): ShellCommand {
    return command(['zfs', 'destroy', validateSnapshotName(snapshot)]);
  },

  send(options: { snapshot: string; from?: string; resumeToken?: string }): ShellCommand {
    if (options.resumeToken) return command(['zfs', 'send', '-t', options.resumeToken]);
    const from = options.from ? ['-i', validateSnapshotName(options.from)] : [];
    return command(['zfs', 'send', ...from, validateSnapshotName(options.snapshot)]);
  },

  /** `zfs send -nvP`: the size of a stream, on hosts that have it. */
  sendEstimate(options: { snapshot: string; from?: string }): ShellCommand {
    const from = options.from ? ['-i', validateSnapshotName(options.from)] : [];
    return command(['zfs', 'send', '-n', '-v', '-P', ...from, validateSnapshotName(options.snapshot)]);
  },

  receive(dataset: string, options: { force: boolean; resumable: boolean }): ShellCommand {
    return command([
      'zfs',
      'receive',
      ...(options.force ? ['-F'] : []),
      ...(options.resumable ? ['-s'] : []),
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
