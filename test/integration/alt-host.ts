/**
 * A second way into beta that a fault test owns and may break: its own sshd
 * on 127.0.0.32 (beta's host key, its own known_hosts), whose sessions reach
 * beta's Docker engine through a socket link the test can remove, and its own
 * appdata dataset, whose quota the test can set. Killing this sshd or
 * removing this link cuts only the test's own migrations, never the testbed
 * that other tests use.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostConfig } from '../../src/config/schema.js';
import { testbedPaths, testbedSharedPaths, TESTBED_HOSTS } from '../../src/testbed/layout.js';
import { TESTBED_USER } from '../../src/testbed/testbed-user.js';
import { zfsHostPath } from '../../src/testbed/zfs-serializer.js';

const ADDRESS = '127.0.0.32';
const beta = TESTBED_HOSTS.find((h) => h.name === 'beta')!;

export interface AltHost {
  readonly config: HostConfig;
  readonly dataset: string;
  /** SIGKILL its sshd and every session it forked: the host is gone mid-whatever. */
  killSshd(): void;
  startSshd(): Promise<void>;
  /** The engine's socket disappears for this host's sessions, as when its dockerd stops. */
  stopDocker(): void;
  startDocker(): Promise<void>;
  /** A quota that leaves only `bytes` more room under its dataset: the pool is nearly full. */
  leaveRoom(bytes: number): void;
  removeQuota(): void;
  /** Stop its sshd and remove its datasets (with `destroy`, which knows zfs-fuse's busy moments) and folders. */
  remove(destroy: (dataset: string) => Promise<void>): Promise<void>;
}

export async function createAltBeta(name: string): Promise<AltHost> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `docker-mcp-${name}-`));
  const betaPaths = testbedPaths(beta);
  const shared = testbedSharedPaths();
  const socketLink = path.join(dir, 'docker.sock');
  const pidFile = path.join(dir, 'sshd.pid');
  const configFile = path.join(dir, 'sshd_config');
  const dataset = `beta/${name}`;
  const appdata = `/srv/beta/${name}`;
  const hostKey = readFileSync(`${betaPaths.hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  await writeFile(path.join(dir, 'known_hosts'), `${ADDRESS} ${hostKey}\n`);
  await writeFile(
    configFile,
    [
      `ListenAddress ${ADDRESS}:22`,
      `HostKey ${betaPaths.hostKey}`,
      `PidFile ${pidFile}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      `AuthorizedKeysFile ${shared.authorizedKeys}`,
      `SetEnv DOCKER_HOST=unix://${socketLink} PATH=${zfsHostPath()}`,
      'UsePAM no',
      'StrictModes no',
      'MaxSessions 64',
      '',
    ].join('\n'),
  );
  execFileSync('zfs', ['create', dataset]);
  await mkdir(`${appdata}-compose`, { recursive: true });

  const sshdPid = () => Number(readFileSync(pidFile, 'utf8').trim());
  const host: AltHost = {
    dataset,
    config: {
      id: name,
      hostname: ADDRESS,
      user: TESTBED_USER,
      port: 22,
      identity_file: shared.clientKey,
      known_hosts_file: path.join(dir, 'known_hosts'),
      description: 'beta, reached by a fault test',
      sudo: false,
      tags: [],
      compose_path: `${appdata}-compose`,
      appdata_path: appdata,
      zfs_capable: true,
      zfs_dataset: dataset,
      enabled: true,
    },
    killSshd() {
      const listener = sshdPid();
      const sessions = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s+/).map(Number))
        .filter(([, ppid]) => ppid === listener)
        .map(([pid]) => pid!);
      for (const pid of [listener, ...sessions]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    async startSshd() {
      await rm(pidFile, { force: true });
      execFileSync('/usr/sbin/sshd', ['-f', configFile, '-E', path.join(dir, 'sshd.log')]);
      for (let i = 0; i < 50; i++) {
        try {
          if (sshdPid() > 0) return;
        } catch {
          // not written yet
        }
        await sleep(100);
      }
      throw new Error(`sshd for ${name} did not start: see ${dir}/sshd.log`);
    },
    stopDocker() {
      execFileSync('rm', ['-f', socketLink]);
    },
    async startDocker() {
      await unlink(socketLink).catch(() => undefined);
      await symlink(betaPaths.dockerSocket, socketLink);
    },
    leaveRoom(bytes) {
      const used = Number(execFileSync('zfs', ['get', '-Hp', '-o', 'value', 'used', dataset], { encoding: 'utf8' }).trim());
      execFileSync('zfs', ['set', `quota=${used + bytes}`, dataset]);
    },
    removeQuota() {
      execFileSync('zfs', ['set', 'quota=none', dataset]);
    },
    async remove(destroy) {
      try {
        host.killSshd();
      } catch {
        // never started
      }
      const datasets = execFileSync('zfs', ['list', '-H', '-o', 'name', '-r', dataset], { encoding: 'utf8' }).trim().split('\n').sort().reverse();
      for (const name of datasets) await destroy(name);
      await rm(`${appdata}-compose`, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
  await host.startDocker();
  // An earlier run that was cut off may have left its own alternate sshd on the address.
  spawnSync('pkill', ['-KILL', '-f', `sshd -f ${os.tmpdir()}/docker-mcp-[a-z0-9]+-alt-`]);
  await host.startSshd();
  return host;
}
