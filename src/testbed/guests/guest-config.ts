/**
 * Each guest's configuration disk: a small read-only ext4 holding who the
 * guest is (names, host keys, accounts, layout) and the set-up script its
 * boot hook runs. Written afresh before every boot.
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { quoteArg } from '../../ssh/quote.js';
import { TESTBED_IMAGE, testbedDir, testbedSharedPaths } from '../layout.js';
import { runLocal } from '../local-command.js';
import { GUEST_SETUP_SCRIPT } from './guest-setup-script.js';
import { GUEST_DATASET, GUEST_POOL, guestPaths, guestSpec, PEER_ADDRESS, type GuestSpec } from './guest-layout.js';

const SSHD_CONFIG = [
  '# docker-mcp testbed guest',
  'HostKey /etc/ssh/ssh_host_ed25519_key',
  'PermitRootLogin prohibit-password',
  'PasswordAuthentication no',
  'KbdInteractiveAuthentication no',
  'UseDNS no',
  // Transfers and tests open many sessions over one multiplexed connection.
  'MaxSessions 64',
  'MaxStartups 64:30:128',
  '',
].join('\n');

/**
 * Where the pool and the appdata dataset mount. delta's appdata inherits its
 * mountpoint from the pool's root (/srv); epsilon's sets its own.
 */
export function guestMountpoints(guest: GuestSpec): { pool: string; dataset: string | null } {
  const parent = path.posix.dirname(guest.appdata);
  return guest.name === 'delta' ? { pool: parent, dataset: null } : { pool: `/${GUEST_POOL}`, dataset: guest.appdata };
}

export function guestEnvironment(guest: GuestSpec): string {
  const peer = guestSpec(guest.peer);
  const mountpoints = guestMountpoints(guest);
  const values: Record<string, string> = {
    GUEST_NAME: guest.name,
    GUEST_DNS: guest.dnsName,
    PEER_NAME: peer.name,
    PEER_DNS: peer.dnsName,
    PEER_ADDRESS,
    LOGIN_USER: guest.user,
    LOGIN_SUDO: guest.sudo ? 'yes' : 'no',
    POOL: GUEST_POOL,
    POOL_MOUNTPOINT: mountpoints.pool,
    DATASET: GUEST_DATASET,
    DATASET_MOUNTPOINT: mountpoints.dataset ?? '',
    COMPOSE: guest.compose,
    TESTBED_DIR: testbedDir(),
    IMAGE: TESTBED_IMAGE,
  };
  return `${Object.entries(values).map(([key, value]) => `${key}=${quoteArg(value)}`).join('\n')}\n`;
}

/** Write the guest's configuration disk; returns its path. */
export async function writeGuestConfigDisk(guest: GuestSpec): Promise<string> {
  const paths = guestPaths(guest);
  const shared = testbedSharedPaths();
  await rm(paths.configDir, { recursive: true, force: true });
  await mkdir(paths.configDir, { recursive: true, mode: 0o700 });
  const put = (name: string, text: string, mode = 0o644) => writeFile(path.join(paths.configDir, name), text, { mode });
  await put('setup.sh', GUEST_SETUP_SCRIPT, 0o755);
  await put('guest.env', guestEnvironment(guest));
  await put('sshd.conf', SSHD_CONFIG);
  await copyFile(paths.hostKey, path.join(paths.configDir, 'ssh_host_ed25519_key'));
  await copyFile(`${paths.hostKey}.pub`, path.join(paths.configDir, 'ssh_host_ed25519_key.pub'));
  await copyFile(shared.authorizedKeys, path.join(paths.configDir, 'authorized_keys'));
  await rm(paths.configDisk, { force: true });
  await runLocal('mke2fs', ['-q', '-t', 'ext4', '-L', 'dmcpconfig', '-d', paths.configDir, paths.configDisk, '8M']);
  return paths.configDisk;
}
