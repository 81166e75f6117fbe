/**
 * How the source host reaches the target host by itself (the "direct" route,
 * and rsync): the system ssh on the source, with the target's configured
 * identity file and known_hosts (same paths on the source host), strict host
 * keys, never a prompt.
 */
import type { HostConfig } from '../config/schema.js';
import { command, quoteArg, type ShellCommand } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

/** ssh and its options, up to but not including the destination. */
export function sshArgvFromSource(target: HostConfig, connectTimeoutSeconds = 10): string[] {
  const argv = ['ssh', '-T', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `ConnectTimeout=${connectTimeoutSeconds}`, '-p', String(target.port)];
  if (target.identity_file) argv.push('-i', target.identity_file, '-o', 'IdentitiesOnly=yes');
  if (target.known_hosts_file) argv.push('-o', `UserKnownHostsFile=${target.known_hosts_file}`);
  argv.push('-l', target.user);
  return argv;
}

/** A command the source runs to run `remote` on the target. */
export function onTargetFromSource(target: HostConfig, remote: ShellCommand): ShellCommand {
  return command([...sshArgvFromSource(target), '--', target.hostname, remote.text]);
}

/** The `-e` value for rsync (which splits it as a shell would). */
export function rsyncRemoteShell(target: HostConfig): string {
  return sshArgvFromSource(target).map(quoteArg).join(' ');
}

/** Whether the source can log in to the target by itself. */
export async function sourceReachesTarget(source: SshTransport, target: HostConfig): Promise<boolean> {
  const probe = command([...sshArgvFromSource(target, 5), '--', target.hostname, 'true']);
  const result = await source.exec(probe, { okExitCodes: Array.from({ length: 256 }, (_, code) => code), timeoutMs: 15_000 });
  return result.exitCode === 0;
}
