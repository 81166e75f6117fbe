/**
 * How the source host reaches the target host by itself (the "direct" route,
 * and rsync): the system ssh on the source, with the target's configured
 * identity file and known_hosts (same paths on the source host), strict host
 * keys, never a prompt.
 */
import type { HostConfig } from '../config/schema.js';
import { NO_FORWARDING } from '../ssh/options.js';
import { asRoot, command, quoteArg, type ShellCommand } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

/**
 * Through a reverse tunnel (see SshTransport.openReverseTunnel) the source
 * reaches the target at a port of its own loopback; the target's host key is
 * still checked, under the target's own name.
 */
export interface ThroughTunnel {
  readonly port: number;
}

/**
 * The target as the source logs in to it. With the migration's own key it
 * also names a master connection socket in the key's private directory:
 * the seed, the final sync and every check then share one login instead of a
 * fresh handshake each (a fifth of a second of downtime on the final sync).
 */
export type TargetFromSource = HostConfig & { readonly controlPath?: string; readonly gate?: RouteGate };

/**
 * The target's side of a migration's own key (route-gate.ts): it runs only
 * commands allowed first, byte for byte as the source's ssh sends them.
 */
export interface RouteGate {
  allow(remoteText: string): Promise<void>;
}

/** How long the source's master connection to the target outlives its last use; revoking the key ends it at once. */
export const SOURCE_MASTER_PERSIST_SECONDS = 120;

const TUNNEL_ADDRESS = '127.0.0.1';

/** The name the target's host key is filed under in known_hosts. */
export function hostKeyName(target: HostConfig): string {
  return target.port === 22 ? target.hostname : `[${target.hostname}]:${target.port}`;
}

/** Where the source connects to: the target itself, or the tunnel's end on its own loopback. */
export function targetAddressFromSource(target: HostConfig, tunnel?: ThroughTunnel): string {
  return tunnel ? TUNNEL_ADDRESS : target.hostname;
}

/** ssh and its options, up to but not including the destination. */
export function sshArgvFromSource(target: TargetFromSource, connectTimeoutSeconds = 10, tunnel?: ThroughTunnel): string[] {
  const argv = ['ssh', '-T', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', ...NO_FORWARDING, '-o', `ConnectTimeout=${connectTimeoutSeconds}`];
  // Through a tunnel the address is the source's own loopback port, which a master for the real address must not serve.
  if (target.controlPath && !tunnel) {
    argv.push('-o', 'ControlMaster=auto', '-o', `ControlPath=${target.controlPath}`, '-o', `ControlPersist=${SOURCE_MASTER_PERSIST_SECONDS}`);
  }
  if (tunnel) argv.push('-p', String(tunnel.port), '-o', `HostKeyAlias=${hostKeyName(target)}`);
  else argv.push('-p', String(target.port));
  if (target.identity_file) argv.push('-i', target.identity_file, '-o', 'IdentitiesOnly=yes');
  if (target.known_hosts_file) argv.push('-o', `UserKnownHostsFile=${target.known_hosts_file}`);
  argv.push('-l', target.user);
  return argv;
}

/** A command the source runs to end the master connection at `controlPath`, if one runs (exit 0 either way). */
export function closeSourceMaster(controlPath: string, target: HostConfig): ShellCommand {
  return command(['sh', '-c', 'ssh -o ControlPath="$1" -O exit -- "$2" 2>/dev/null; exit 0', 'close-master', controlPath, target.hostname]);
}

/** The text the source's ssh sends to run `remote` on the target (through sudo when the login is not root): what a gate compares. */
export function remoteTextOnTarget(target: HostConfig, remote: ShellCommand): string {
  return (target.sudo ? asRoot(remote) : remote).text;
}

/** A command the source runs to run `remote` on the target. */
export function onTargetFromSource(target: TargetFromSource, remote: ShellCommand): ShellCommand {
  return command([...sshArgvFromSource(target), '--', target.hostname, remoteTextOnTarget(target, remote)]);
}

/** rsync's `--rsync-path` for the target: through sudo when the login is not root. */
export function rsyncPathOnTarget(target: HostConfig): string[] {
  return target.sudo ? ['--rsync-path=sudo -n rsync'] : [];
}

/** The `-e` value for rsync (which splits it as a shell would). */
export function rsyncRemoteShell(target: TargetFromSource, tunnel?: ThroughTunnel): string {
  return sshArgvFromSource(target, 10, tunnel).map(quoteArg).join(' ');
}

export type RouteCheck = { readonly reaches: true } | { readonly reaches: false; readonly reason: string };

// The inner ssh's exit status and words come back as output, so that its
// failure (a wrong host key, no credentials on the source) can never be taken
// for a failure of our own connection to the source.
const ROUTE_CHECK_SCRIPT = 'ssh "$@" 2>&1; echo "route-check-exit=$?"';

// What only the target has: its machine id and the guid of its pool. Hosts
// cloned from one template share host keys, so a passing host-key check alone
// does not prove the source reached the target.
const IDENTITY_SCRIPT =
  'printf "route-proof machine-id %s\\n" "$(cat /etc/machine-id 2>/dev/null || cat /var/lib/dbus/machine-id 2>/dev/null)"; ' +
  'if [ -n "$1" ]; then printf "route-proof pool-guid %s\\n" "$(zpool get -H -o value guid "$1" 2>/dev/null)"; fi';

export interface TargetIdentity {
  readonly machineId: string;
  readonly poolGuid: string | null;
}

/** The command that prints the target's identity (the same text through either route). */
export function targetIdentityCommand(target: HostConfig): ShellCommand {
  const pool = target.zfs_capable && target.zfs_dataset ? (target.zfs_dataset.split('/')[0] ?? '') : '';
  return command(['sh', '-c', IDENTITY_SCRIPT, 'route-proof', pool]);
}

export function parseTargetIdentity(output: string): TargetIdentity {
  const field = (name: string) => new RegExp(`^route-proof ${name} ?(.*)$`, 'm').exec(output)?.[1]?.trim();
  return { machineId: field('machine-id') ?? '', poolGuid: field('pool-guid') || null };
}

/** Read through this controller's own connection to the target. */
export async function readTargetIdentity(target: SshTransport, host: HostConfig): Promise<TargetIdentity> {
  return parseTargetIdentity((await target.exec(targetIdentityCommand(host))).stdout);
}

/**
 * Whether the source can log in to the target by itself (the direct route),
 * and reaches the same machine this controller does. Any failure is an
 * answer, never an error: the caller then relays.
 */
export async function checkDirectRoute(source: SshTransport, target: TargetFromSource, expected: TargetIdentity): Promise<RouteCheck> {
  const remote = remoteTextOnTarget(target, targetIdentityCommand(target));
  const probe = command(['sh', '-c', ROUTE_CHECK_SCRIPT, 'route-check', ...sshArgvFromSource(target, 5).slice(1), '--', target.hostname, remote]);
  try {
    const result = await source.exec(probe, { timeoutMs: 20_000, okExitCodes: Array.from({ length: 255 }, (_, code) => code) });
    const check = parseRouteCheck(result.stdout, source.hostId, target.id);
    if (!check.reaches) return check;
    return compareIdentities(parseTargetIdentity(result.stdout), expected, source.hostId, target);
  } catch (error) {
    return { reaches: false, reason: `the check on ${source.hostId} did not run: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export function compareIdentities(seen: TargetIdentity, expected: TargetIdentity, sourceId: string, target: HostConfig): RouteCheck {
  const differs = (what: string, got: string | null, want: string | null) =>
    ({ reaches: false, reason: `from ${sourceId}, ${target.hostname} is another machine than ${target.id} (${what} ${got || 'none'}, not ${want || 'none'}), though its host key matched: a clone?` }) as const;
  if (seen.poolGuid !== expected.poolGuid) return differs('pool guid', seen.poolGuid, expected.poolGuid);
  if (seen.machineId !== expected.machineId) return differs('machine id', seen.machineId, expected.machineId);
  return { reaches: true };
}

export function parseRouteCheck(output: string, sourceId: string, targetId: string): RouteCheck {
  const match = /route-check-exit=(\d+)\s*$/.exec(output);
  if (match?.[1] === '0') return { reaches: true };
  const said = output.replace(/route-check-exit=\d+\s*$/, '').trim().split(/\r?\n/).filter(Boolean).slice(-2).join(' ');
  const status = match ? `exit ${match[1]}` : 'no answer';
  return { reaches: false, reason: `${sourceId} cannot log in to ${targetId} by itself (${status}${said ? `: ${said}` : ''})` };
}
