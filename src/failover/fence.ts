/**
 * Fencing: after a failover the stack belongs to its standby, and the host
 * it left must not run it again (its containers' restart policies start
 * them when it boots). The first contact with that host, by any command of
 * this process, fences it first: the stack's containers are kept from
 * restarting and stopped, its datasets set read-only, and what it wrote
 * after the snapshot the standby started from is measured (`written@`,
 * after `zpool sync`): the host has diverged, and that data stays there
 * for a failback to keep. standby.yml records it, and it is said.
 */
import type { LoadedConfig } from '../config/load.js';
import type { HostConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import { validateDatasetName, validateSnapshotName, validateStackName } from '../names/validate.js';
import { command } from '../ssh/quote.js';
import { DEFAULT_SSH_OPTIONS } from '../ssh/options.js';
import { CommandTimeoutError, HostUnreachableError } from '../ssh/errors.js';
import { SshTransport } from '../ssh/transport.js';
import { loadStandbyFile, markFenced, writeStandbyFile, type StandbyDeclaration } from '../standby/declarations.js';
import { readPassRecord } from '../standby/pass-state.js';

export interface FenceResult {
  readonly host: string;
  readonly stack: string;
  readonly to: string;
  /** Containers of the stack that were running and were stopped. */
  readonly stopped: number;
  /** Datasets set read-only (none on a host without ZFS: its data paths stay writable). */
  readonly readonly: readonly string[];
  /** Bytes written after the failover's snapshot, per dataset (null where its zfs cannot tell). */
  readonly written: Readonly<Record<string, number | null>>;
  readonly diverged: boolean | null;
}

// $1 the project. Every container of it kept from restarting, the running ones stopped; prints how many ran.
const STOP_SCRIPT = [
  'all=$(docker ps -aq --filter "label=com.docker.compose.project=$1") || exit 1',
  '[ -n "$all" ] || { echo 0; exit 0; }',
  'docker update --restart=no $all >/dev/null || exit 1',
  'running=$(docker ps -q --filter "label=com.docker.compose.project=$1")',
  '[ -z "$running" ] || docker stop $running >/dev/null || exit 1',
  'echo "$running" | grep -c . || true',
].join('\n');

// $1 the snapshot name, then the datasets: each read-only, then what was written since the snapshot.
const READONLY_SCRIPT = [
  'snapshot=$1; shift',
  'zpool sync 2>/dev/null',
  'for ds; do',
  '  zfs set docker-mcp:left-readonly=yes "$ds" && zfs set readonly=on "$ds" || exit 1',
  // zfs-fuse keeps a mounted dataset writable ("temporary") until it is mounted again.
  '  if [ "$(zfs get -H -o value readonly "$ds")" != on ]; then',
  '    i=0; until zfs umount "$ds" 2>/dev/null; do i=$((i + 1)); [ "$i" -lt 20 ] || exit 1; sleep 0.25; done',
  '    zfs mount "$ds" || exit 1',
  '  fi',
  '  written=$(zfs get -H -p -o value "written@$snapshot" "$ds" 2>/dev/null) || written=-',
  '  printf "%s\\t%s\\n" "$ds" "$written"',
  'done',
].join('\n');

/** Fence one stack on its old host through `transport` (one that no fence gate holds). */
export async function fenceStack(transport: SshTransport, declaration: StandbyDeclaration, datasets: readonly string[]): Promise<FenceResult> {
  const snapshot = declaration.failedOver?.snapshot;
  if (!snapshot) throw new Error(`${declaration.host}/${declaration.stack} was not failed over: nothing to fence`);
  const stopped = await transport.exec(command(['sh', '-c', STOP_SCRIPT, 'fence-stop', validateStackName(declaration.stack)]), { timeoutMs: 300_000 });
  const written: Record<string, number | null> = {};
  if (datasets.length > 0 && !snapshot.startsWith('rsync:')) {
    validateSnapshotName(`${datasets[0]}@${snapshot}`);
    const result = await transport.exec(command(['sh', '-c', READONLY_SCRIPT, 'fence-readonly', snapshot, ...datasets.map((d) => validateDatasetName(d))]));
    for (const line of result.stdout.split('\n').filter(Boolean)) {
      const [dataset, value] = line.split('\t');
      if (dataset) written[dataset] = value !== undefined && /^\d+$/.test(value) ? Number(value) : null;
    }
  }
  const values = Object.values(written);
  const diverged = values.some((v) => v !== null && v > 0) ? true : values.length === 0 || values.includes(null) ? null : false;
  return {
    host: declaration.host,
    stack: declaration.stack,
    to: declaration.to,
    stopped: Number(stopped.stdout.trim().split('\n').at(-1) ?? 0) || 0,
    readonly: Object.keys(written),
    written,
    diverged,
  };
}

/** What is to be fenced on this host: stacks failed over from it, not fenced yet. */
export async function pendingFences(config: LoadedConfig, hostId: string): Promise<StandbyDeclaration[]> {
  const { standbys } = await loadStandbyFile(config.location.path);
  return standbys.filter((d) => d.host === hostId && d.failedOver && !d.failedOver.fencedAt);
}

/**
 * Fence every stack failed over from `host`, over connections of its own
 * (not through the gated transport that asked), and record each in
 * standby.yml. Throws when the host cannot be fenced: nothing else may
 * reach it first.
 */
export async function fenceHost(config: LoadedConfig, host: HostConfig, stateDir?: string): Promise<FenceResult[]> {
  const pending = await pendingFences(config, host.id);
  if (pending.length === 0) return [];
  const transport = new SshTransport(host, { ...DEFAULT_SSH_OPTIONS, multiplex: false });
  const results: FenceResult[] = [];
  try {
    for (const declaration of pending) {
      const record = await readPassRecord(declaration.host, declaration.stack, stateDir);
      const datasets = (record?.datasets ?? []).map((d) => d.sourceDataset).filter((d): d is string => d !== null);
      try {
        results.push(await fenceStack(transport, declaration, datasets));
      } catch (error) {
        throw new Error(`fencing ${declaration.stack} on ${host.id} (failed over to ${declaration.to}) failed, so nothing else was sent there: ${describeError(error)}`, { cause: error });
      }
    }
  } finally {
    await transport.close().catch(() => {});
  }
  const file = await loadStandbyFile(config.location.path);
  const at = new Date().toISOString();
  for (const result of results) {
    const declaration = file.standbys.find((d) => d.host === result.host && d.stack === result.stack);
    if (declaration) markFenced(file, declaration, at, result.diverged);
  }
  await writeStandbyFile(file);
  return results;
}

/** One line saying what a fence did. */
export function describeFence(r: FenceResult): string {
  const wrote = Object.entries(r.written).filter(([, bytes]) => (bytes ?? 0) > 0);
  return (
    `fenced ${r.stack} on ${r.host} (failed over to ${r.to}): ${r.stopped} running container${r.stopped === 1 ? '' : 's'} stopped, none restarts by itself` +
    (r.readonly.length > 0 ? `; ${r.readonly.join(', ')} read-only` : `; its data paths stay writable (no ZFS)`) +
    (r.diverged === true
      ? `; DIVERGED: ${r.host} wrote after the copy ${r.to} started from (${wrote.map(([d, b]) => `${d} ${b} bytes`).join(', ')}), kept there for a failback`
      : r.diverged === false
        ? `; nothing written there since the copy ${r.to} started from`
        : `; whether it wrote since cannot be told here`)
  );
}

/**
 * The SshPool hook that fences a host on first contact, for a process that
 * reads its config through `configOf`; `say` tells what was fenced.
 */
export function fenceOnFirstContact(configOf: () => Promise<LoadedConfig>, say: (line: string) => void): (host: SshHostOf) => () => Promise<void> {
  return (host) => async () => {
    const config = await configOf();
    const known = config.hosts.find((h) => h.id === host.id);
    if (!known) return;
    for (const result of await fenceHost(config, known)) say(describeFence(result));
  };
}

type SshHostOf = Pick<HostConfig, 'id'>;

/**
 * Reach every host that has a failed-over stack still to fence, and fence it
 * (`standby status` and `check` do this first, so a monitoring check fences
 * a host as soon as it is back). A host that does not answer is said and
 * left for the next contact; any other failure is said too. Returns the lines.
 */
export async function fencePendingHosts(config: LoadedConfig, stateDir?: string): Promise<string[]> {
  const { standbys } = await loadStandbyFile(config.location.path);
  const pending = [...new Set(standbys.filter((d) => d.failedOver && !d.failedOver.fencedAt).map((d) => d.host))];
  const lines = await Promise.all(
    pending.map(async (id): Promise<string[]> => {
      const host = config.hosts.find((h) => h.id === id);
      if (!host) return [`${id} is not in ${config.location.path}: it cannot be fenced from here`];
      try {
        return (await fenceHost(config, host, stateDir)).map(describeFence);
      } catch (error) {
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
        if (cause instanceof HostUnreachableError || cause instanceof CommandTimeoutError) return [`${id} does not answer: it is fenced on the first contact once it does`];
        return [describeError(error)];
      }
    }),
  );
  return lines.flat();
}
