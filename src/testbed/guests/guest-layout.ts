/**
 * The OpenZFS guests of the testbed: QEMU virtual machines of Debian trixie
 * with OpenZFS 2.3 in the kernel, Docker and compose v2. Their layouts differ
 * on purpose, as real fleets do.
 */
import path from 'node:path';
import { testbedDir, testbedRunDir } from '../layout.js';

export type GuestName = 'delta' | 'epsilon';

export interface GuestSpec {
  readonly name: GuestName;
  /** The name both this machine and the other guest reach it by. */
  readonly dnsName: string;
  /** Loopback address of this machine that QEMU forwards to the guest's sshd. */
  readonly address: string;
  /** The other guest, reachable from inside this one as `peer.dnsName`. */
  readonly peer: GuestName;
  /** The account the tool logs in as. */
  readonly user: string;
  /** Runs the tool's commands through `sudo -n` (a non-root login). */
  readonly sudo: boolean;
  readonly appdata: string;
  readonly compose: string;
}

export const GUESTS: readonly GuestSpec[] = [
  { name: 'delta', dnsName: 'delta.vm', address: '127.0.0.21', peer: 'epsilon', user: 'root', sudo: false, appdata: '/srv/appdata', compose: '/srv/compose' },
  { name: 'epsilon', dnsName: 'epsilon.vm', address: '127.0.0.22', peer: 'delta', user: 'deploy', sudo: true, appdata: '/mnt/appdata', compose: '/opt/stacks' },
];

export const GUEST_POOL = 'tank';
export const GUEST_DATASET = `${GUEST_POOL}/appdata`;
export const GUEST_POOL_SIZE = '2G';
/**
 * Inside each guest, QEMU's user-mode network answers connections to this
 * address by running socat to the peer's forwarded sshd on this machine's
 * loopback: guest-to-guest traffic never leaves the machine.
 */
export const PEER_ADDRESS = '10.0.2.100';

export function guestSpec(name: GuestName): GuestSpec {
  const spec = GUESTS.find((guest) => guest.name === name);
  if (!spec) throw new Error(`no guest ${name}`);
  return spec;
}

/** The built image outlives `testbed down`: building it takes minutes. */
export function guestImageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_MCP_GUEST_CACHE ?? '/var/cache/docker-mcp-testbed/guest-image';
}

export interface GuestPaths {
  readonly dir: string;
  readonly overlay: string;
  readonly poolDisk: string;
  readonly configDisk: string;
  readonly configDir: string;
  readonly console: string;
  readonly pidFile: string;
  readonly hostKey: string;
}

export function guestPaths(guest: GuestSpec, env: NodeJS.ProcessEnv = process.env): GuestPaths {
  const dir = path.join(testbedDir(env), guest.name);
  return {
    dir,
    overlay: path.join(dir, 'root.qcow2'),
    poolDisk: path.join(dir, 'pool.img'),
    configDisk: path.join(dir, 'config.img'),
    configDir: path.join(dir, 'config'),
    console: path.join(dir, 'console.log'),
    pidFile: path.join(testbedRunDir(env), guest.name, 'qemu.pid'),
    hostKey: path.join(dir, 'ssh_host_ed25519_key'),
  };
}
