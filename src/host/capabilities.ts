/**
 * Discover what a host can do: Docker, compose flavour, ZFS and its send
 * features, rsync, free space under appdata_path. Each probe is one command
 * over the shared SSH connection; they run in parallel, and a probe that
 * fails is reported as absent rather than failing the whole discovery.
 */
import type { HostConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import { command, redirect, sequence } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';
import { CommandFailedError } from '../ssh/errors.js';
import {
  filesystemHolding,
  parseComposeVersion,
  parseDfFreeBytes,
  parseDockerVersion,
  parseRsyncVersion,
  parseZfsFilesystems,
  type DockerVersion,
} from './parsers.js';
import { keepZfsFeatures, NO_ZFS_FEATURES, parseZfsUsage, type ZfsSendFeatures } from './zfs-features.js';
import { forgetProbe, keepProbe, type ProbedLogin } from './probe-memo.js';

export type ComposeFlavour = 'v2' | 'v1';

export interface ComposeCapability {
  readonly flavour: ComposeFlavour;
  readonly version: string;
  /** The argv prefix that runs compose on this host. */
  readonly command: readonly string[];
}

export interface ZfsCapability {
  readonly available: boolean;
  /** Why ZFS is not usable, when it is not. */
  readonly reason: string | null;
  /** OpenZFS prints its version with `zfs version`; zfs-fuse has no such command. */
  readonly version: string | null;
  readonly features: ZfsSendFeatures;
  /** The dataset mounted at (or holding) appdata_path, if it is on ZFS. */
  readonly appdataDataset: string | null;
  readonly pool: string | null;
  /** The configured zfs_dataset, and whether it is the one holding appdata_path. */
  readonly configuredDataset: string | null;
  readonly matchesConfig: boolean | null;
  readonly availableBytes: number | null;
}

export interface HostCapabilities {
  readonly hostId: string;
  readonly docker: DockerVersion | null;
  readonly dockerError: string | null;
  readonly compose: ComposeCapability | null;
  readonly zfs: ZfsCapability;
  readonly rsync: { readonly version: string; readonly protocol: number | null } | null;
  readonly tools: { readonly mbuffer: boolean; readonly pv: boolean };
  readonly appdata: { readonly path: string | null; readonly exists: boolean; readonly freeBytes: number | null };
  readonly probeMs: number;
}

const OPTIONAL_TOOLS = ['zfs', 'zpool', 'rsync', 'docker', 'docker-compose', 'mbuffer', 'pv'] as const;

export async function discoverHost(transport: SshTransport, host: HostConfig): Promise<HostCapabilities> {
  const started = Date.now();
  await transport.connect();
  const present = await presentTools(transport);
  const [docker, compose, zfs, rsync, appdata] = await Promise.all([
    probeDocker(transport, present),
    detectCompose(transport, present),
    probeZfs(transport, host, present),
    probeRsync(transport, present),
    probeAppdata(transport, host),
  ]);
  // A discovery is the fresh look the memo's users may ask for: what it found replaces what was remembered.
  await Promise.all([keepComposeFinding(host, compose), keepZfsFeatures(host, zfs.available ? zfs.features : null)]);
  return {
    hostId: host.id,
    docker: docker.version,
    dockerError: docker.error,
    compose,
    zfs,
    rsync,
    tools: { mbuffer: present.has('mbuffer'), pv: present.has('pv') },
    appdata,
    probeMs: Date.now() - started,
  };
}

async function presentTools(transport: SshTransport): Promise<Set<string>> {
  // One `command -v` per tool: dash (Debian's /bin/sh) looks up only the first name it is given.
  const lookups = sequence(...OPTIONAL_TOOLS.map((tool) => command(['command', '-v', tool])));
  const result = await transport.exec(lookups, { okExitCodes: [0, 1, 127] });
  const found = new Set<string>();
  for (const line of result.stdout.split('\n')) {
    const name = line.trim().split('/').pop();
    if (name && (OPTIONAL_TOOLS as readonly string[]).includes(name)) found.add(name);
  }
  return found;
}

async function probeDocker(
  transport: SshTransport,
  present: Set<string>,
): Promise<{ version: DockerVersion | null; error: string | null }> {
  if (!present.has('docker')) return { version: null, error: 'the docker command is not installed' };
  try {
    const result = await transport.exec(command(['docker', 'version', '--format', '{{json .}}']), { timeoutMs: 20_000 });
    const version = parseDockerVersion(result.stdout);
    return version ? { version, error: null } : { version: null, error: 'docker answered without a server version' };
  } catch (error) {
    return { version: null, error: error instanceof CommandFailedError ? firstLine(error.stderr) : describeError(error) };
  }
}

const COMPOSE_COMMANDS: Readonly<Record<ComposeFlavour, readonly string[]>> = { v2: ['docker', 'compose'], v1: ['docker-compose'] };

/** A compose finding remembered from an earlier probe (probe-memo.ts); its command is rebuilt from the flavour, never read back. */
export function composeFound(found: unknown): ComposeCapability | null {
  if (typeof found !== 'object' || found === null) return null;
  const { flavour, version } = found as { flavour?: unknown; version?: unknown };
  if ((flavour !== 'v1' && flavour !== 'v2') || typeof version !== 'string' || !/^[0-9][0-9A-Za-z.+-]*$/.test(version)) return null;
  return { flavour, version, command: COMPOSE_COMMANDS[flavour] };
}

/** Remember what the compose probe found for the next commands (probe-memo.ts); nothing found forgets it. */
export async function keepComposeFinding(host: ProbedLogin, compose: ComposeCapability | null): Promise<void> {
  if (compose) await keepProbe(host, 'compose', { flavour: compose.flavour, version: compose.version });
  else await forgetProbe(host, 'compose');
}

/**
 * Which compose the host has: `docker compose` (v2) preferred, else
 * `docker-compose` (v1). `present` skips commands known to be missing.
 */
export async function detectCompose(
  transport: SshTransport,
  present?: ReadonlySet<string>,
): Promise<ComposeCapability | null> {
  const candidates: { flavour: ComposeFlavour; command: readonly string[]; available: boolean }[] = [
    { flavour: 'v2', command: COMPOSE_COMMANDS.v2, available: present?.has('docker') ?? true },
    { flavour: 'v1', command: COMPOSE_COMMANDS.v1, available: present?.has('docker-compose') ?? true },
  ];
  for (const candidate of candidates) {
    if (!candidate.available) continue;
    const result = await transport.exec(command([...candidate.command, 'version', '--short']), {
      okExitCodes: [0, 1, 125, 127],
      timeoutMs: 20_000,
    });
    const version = result.exitCode === 0 ? parseComposeVersion(result.stdout) : null;
    if (version) return { flavour: candidate.flavour, version, command: candidate.command };
  }
  return null;
}

async function probeZfs(transport: SshTransport, host: HostConfig, present: Set<string>): Promise<ZfsCapability> {
  const absent = (reason: string): ZfsCapability => ({
    available: false,
    reason,
    version: null,
    features: NO_ZFS_FEATURES,
    appdataDataset: null,
    pool: null,
    configuredDataset: host.zfs_dataset ?? null,
    matchesConfig: null,
    availableBytes: null,
  });
  if (!present.has('zfs')) return absent('the zfs command is not installed');

  const [list, usage, version] = await Promise.all([
    transport.exec(command(['zfs', 'get', '-H', '-p', '-o', 'name,property,value', 'type,mountpoint,available']), {
      okExitCodes: [0, 1],
    }),
    // `zfs` alone prints its usage (all subcommands and flags) and exits 2.
    transport.exec(redirect(command(['zfs']), { stderr: 'stdout' }), { okExitCodes: [0, 1, 2] }),
    transport.exec(redirect(command(['zfs', 'version']), { stderr: 'stdout' }), { okExitCodes: [0, 1, 2] }),
  ]);
  if (list.exitCode !== 0) return absent(`zfs does not answer: ${firstLine(list.stderr || list.stdout)}`);

  const filesystems = parseZfsFilesystems(list.stdout);
  const holding = host.appdata_path ? filesystemHolding(filesystems, host.appdata_path) : null;
  const versionLine = version.exitCode === 0 ? firstLine(version.stdout) : '';
  return {
    available: true,
    reason: null,
    version: /^zfs-/.test(versionLine) ? versionLine : null,
    features: parseZfsUsage(usage.stdout),
    appdataDataset: holding?.name ?? null,
    pool: holding ? (holding.name.split('/')[0] ?? null) : null,
    configuredDataset: host.zfs_dataset ?? null,
    matchesConfig: host.zfs_dataset ? holding?.name === host.zfs_dataset : null,
    availableBytes: holding?.availableBytes ?? null,
  };
}

async function probeRsync(transport: SshTransport, present: Set<string>): Promise<HostCapabilities['rsync']> {
  if (!present.has('rsync')) return null;
  const result = await transport.exec(command(['rsync', '--version']), { okExitCodes: [0, 1] });
  return parseRsyncVersion(result.stdout);
}

async function probeAppdata(transport: SshTransport, host: HostConfig): Promise<HostCapabilities['appdata']> {
  if (!host.appdata_path) return { path: null, exists: false, freeBytes: null };
  const result = await transport.exec(command(['df', '-Pk', host.appdata_path]), { okExitCodes: [0, 1] });
  return {
    path: host.appdata_path,
    exists: result.exitCode === 0,
    freeBytes: result.exitCode === 0 ? parseDfFreeBytes(result.stdout) : null,
  };
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
