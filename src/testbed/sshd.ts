/**
 * One sshd per testbed host, on the host's own loopback address. Key login
 * only; `SetEnv DOCKER_HOST` points every session at the host's own engine.
 */
import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { writeIfChanged } from './keys.js';
import { runLocal } from './local-command.js';
import { testbedPaths, testbedSharedPaths, type TestbedHostSpec } from './layout.js';
import { clearStalePidFile, runningPid, stopDaemon, waitFor, type DaemonRef } from './processes.js';
import { dockerHostUrl } from './docker-engines.js';
import { zfsHostPath } from './zfs-serializer.js';
import { dockerConfigDir } from './compose-v2.js';

export function sshDaemon(host: TestbedHostSpec): DaemonRef {
  return { label: `${host.name} sshd`, pidFile: testbedPaths(host).sshdPidFile, commandLineContains: 'sshd' };
}

const NO_ZFS_PATH = '/usr/local/bin:/usr/bin:/bin';

/** What makes one sshd of a host: its port, host key and pid file. */
export interface SshdIdentity {
  readonly port: number;
  readonly hostKey: string;
  readonly pidFile: string;
}

/**
 * The host's sshd; by default the testbed's own (port 22). Tests start the
 * same host under another identity: a new port and host key, which no
 * known_hosts file holds, as a newly installed host would.
 */
export function sshdConfigText(host: TestbedHostSpec, identity?: SshdIdentity): string {
  const paths = testbedPaths(host);
  const shared = testbedSharedPaths();
  const { port, hostKey, pidFile } = identity ?? { port: 22, hostKey: paths.hostKey, pidFile: paths.sshdPidFile };
  return [
    `# docker-mcp testbed host ${host.name}: written by "docker-mcp testbed up"`,
    `ListenAddress ${host.address}:${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${pidFile}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    // The controller's key, and (as on a user's host) the login's own file, where a migration puts its key.
    `AuthorizedKeysFile ${shared.authorizedKeys} .ssh/authorized_keys`,
    // The hosts share this machine's programs; a PATH without /usr/sbin hides
    // zfs from the host that plays "no ZFS installed".
    `SetEnv DOCKER_HOST=${dockerHostUrl(host)} PATH=${host.zfs ? zfsHostPath() : NO_ZFS_PATH}${host.composeV2 ? ` DOCKER_CONFIG=${dockerConfigDir(host)}` : ''}`,
    'UsePAM no',
    'StrictModes no',
    // Transfers and tests open many sessions over one multiplexed connection.
    'MaxSessions 64',
    'MaxStartups 64:30:128',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

export function portOpen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Write the config and start sshd; restart it when the config changed. Returns what changed. */
export async function ensureSshd(host: TestbedHostSpec): Promise<string[]> {
  const paths = testbedPaths(host);
  const daemon = sshDaemon(host);
  const changed: string[] = [];
  const configChanged = await writeIfChanged(paths.sshdConfig, sshdConfigText(host));
  if (configChanged) changed.push(`${host.name} sshd_config`);
  const running = (await runningPid(daemon)) !== undefined;
  if (running && !configChanged) return changed;
  if (running) await stopDaemon(daemon);
  else await clearStalePidFile(daemon);
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await runLocal('/usr/sbin/sshd', ['-t', '-f', paths.sshdConfig]);
  await runLocal('/usr/sbin/sshd', ['-f', paths.sshdConfig, '-E', paths.sshdLog]);
  await waitFor(`${host.name} sshd on ${host.address}:22`, () => portOpen(host.address, 22), 15_000);
  changed.push(`${host.name} sshd started`);
  return changed;
}

export async function sshdRunning(host: TestbedHostSpec): Promise<boolean> {
  return (await runningPid(sshDaemon(host))) !== undefined;
}

export async function stopSshd(host: TestbedHostSpec): Promise<boolean> {
  return stopDaemon(sshDaemon(host));
}
