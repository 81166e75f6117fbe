/**
 * Boot and stop one guest. QEMU runs in software emulation (TCG): KVM guests
 * hang on this machine kind. User-mode networking only: the guest's sshd is
 * forwarded to a loopback address here, and the guest reaches its peer
 * through QEMU's guestfwd, which runs socat to the peer's forward. No packet
 * leaves this machine.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { testbedSharedPaths } from '../layout.js';
import { runLocal, succeeds, TestbedError } from '../local-command.js';
import { clearStalePidFile, runningPid, stopDaemon, type DaemonRef } from '../processes.js';
import type { GuestImage } from './guest-image.js';
import { writeGuestConfigDisk } from './guest-config.js';
import { GUEST_POOL_SIZE, guestPaths, guestSpec, PEER_ADDRESS, type GuestSpec } from './guest-layout.js';

const BOOT_TIMEOUT_MS = 420_000;

export function guestDaemon(guest: GuestSpec): DaemonRef {
  return { label: `${guest.name} guest (qemu)`, pidFile: guestPaths(guest).pidFile, commandLineContains: 'qemu-system-x86_64' };
}

export async function guestRunning(guest: GuestSpec): Promise<boolean> {
  return (await runningPid(guestDaemon(guest))) !== undefined;
}

/** Whether the guest answers over SSH and has finished its set-up. */
export async function guestReady(guest: GuestSpec): Promise<boolean> {
  const shared = testbedSharedPaths();
  return succeeds(
    'ssh',
    [
      '-T', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${shared.knownHosts}`,
      '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', '-i', shared.clientKey, '-o', 'IdentitiesOnly=yes',
      '-l', 'root', '--', guest.address, 'test', '-e', '/run/docker-mcp-ready',
    ],
    { timeoutMs: 20_000 },
  );
}

/**
 * Units a guest's boot skips: they rebuild caches and clean what a guest
 * never needs, and each costs seconds of emulated CPU while it boots.
 * (udev-settle stays: the set-up script imports the pool after it, and an
 * import that misses the disk would create the pool afresh.)
 */
const BOOT_MASKED_UNITS = ['ldconfig.service', 'systemd-update-done.service', 'systemd-journal-catalog-update.service', 'e2scrub_reap.service'];

export function qemuArguments(guest: GuestSpec, image: GuestImage): string[] {
  const paths = guestPaths(guest);
  const peer = guestSpec(guest.peer);
  const netdev = [
    'user',
    'id=net0',
    `hostfwd=tcp:${guest.address}:22-:22`,
    `guestfwd=tcp:${PEER_ADDRESS}:22-cmd:socat - TCP:${peer.address}:22`,
  ].join(',');
  return [
    '-name', guest.name,
    '-accel', 'tcg',
    // A plain x86-64-v2 model, not 'max': TCG emulates AVX2, SHA and AES
    // instructions with helpers, which glibc, Go (docker, compose) and
    // OpenZFS then pick. Measured here on the guests (docker run, compose
    // version, docker ps, 5 zfs lists, 4 rounds): 35-40 s of QEMU CPU with
    // this model against 46-51 s with 'max'; a boot 93-99 s against 124 s.
    '-cpu', 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+cx16',
    // One vCPU: measured here, a guest with two took 71-75 s of this
    // machine's CPU for a fixed workload (docker run, zfs send/receive,
    // forks) against 46-60 s with one, no faster in wall time. Emulated
    // vCPUs compete for the same two cores as everything else the tests run.
    '-smp', '1',
    '-m', '2048',
    '-kernel', image.kernel,
    '-initrd', image.initrd,
    '-append', ['root=/dev/vda rw console=ttyS0 quiet mitigations=off tsc=reliable', ...BOOT_MASKED_UNITS.map((unit) => `systemd.mask=${unit}`)].join(' '),
    '-drive', `file=${paths.overlay},if=virtio,format=qcow2`,
    '-drive', `file=${paths.poolDisk},if=virtio,format=raw`,
    '-drive', `file=${paths.configDisk},if=virtio,format=raw,readonly=on`,
    '-netdev', netdev,
    '-device', 'virtio-net-pci,netdev=net0',
    // No default VGA, CD-ROM or parallel port: their drivers (bochs-drm and a
    // framebuffer console above all) cost seconds of emulated boot for nothing.
    '-nodefaults',
    '-display', 'none',
    '-serial', `file:${paths.console}`,
    '-daemonize',
    '-pidfile', paths.pidFile,
  ];
}

export interface GuestBoot {
  readonly started: boolean;
  /** Seconds from starting QEMU to the guest's set-up being done; null when it already ran. */
  readonly bootSeconds: number | null;
}

/** Start the guest unless it runs, and wait until it is ready. */
export async function ensureGuest(guest: GuestSpec, image: GuestImage): Promise<GuestBoot> {
  const paths = guestPaths(guest);
  const daemon = guestDaemon(guest);
  if ((await runningPid(daemon)) !== undefined) {
    // A guest whose kernel panicked (software emulation can double-fault
    // under load) keeps its QEMU process: power it off and boot it afresh.
    const panicked = hasPanicked(await readFile(paths.console, 'utf8').catch(() => ''));
    if (!panicked && (await readyWithin(guest, RUNNING_GUEST_GRACE_MS))) return { started: false, bootSeconds: null };
    await stopGuest(guest);
  }
  await clearStalePidFile(daemon);
  await mkdir(paths.dir, { recursive: true });
  await mkdir(path.dirname(paths.pidFile), { recursive: true });
  // A guest that is not running starts from a fresh overlay and pool, like alpha and beta.
  await rm(paths.overlay, { force: true });
  await rm(paths.poolDisk, { force: true });
  await runLocal('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', image.rootImage, '-F', 'raw', paths.overlay]);
  await createSparseFile(paths.poolDisk, GUEST_POOL_SIZE);
  await writeGuestConfigDisk(guest);
  const started = performance.now();
  await runLocal('qemu-system-x86_64', qemuArguments(guest, image));
  await waitUntilReady(guest, BOOT_TIMEOUT_MS);
  return { started: true, bootSeconds: (performance.now() - started) / 1000 };
}

/**
 * A power cut, for the failover tests: the guest's QEMU killed where it
 * stands, nothing flushed, its disks kept as they are for `bootGuestAgain`.
 */
export async function cutGuestPower(guest: GuestSpec): Promise<void> {
  const pid = await runningPid(guestDaemon(guest));
  if (pid === undefined) throw new TestbedError(`the ${guest.name} guest is not running`);
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 30_000;
  while (await guestRunning(guest)) {
    if (Date.now() > deadline) throw new TestbedError(`the ${guest.name} guest's QEMU (pid ${pid}) did not die`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await clearStalePidFile(guestDaemon(guest));
}

/** Boot a guest again on the disks it has (after a power cut), and wait until it is ready. */
export async function bootGuestAgain(guest: GuestSpec, image: GuestImage): Promise<GuestBoot> {
  if (await guestRunning(guest)) return { started: false, bootSeconds: null };
  await clearStalePidFile(guestDaemon(guest));
  const started = performance.now();
  await runLocal('qemu-system-x86_64', qemuArguments(guest, image));
  await waitUntilReady(guest, BOOT_TIMEOUT_MS);
  return { started: true, bootSeconds: (performance.now() - started) / 1000 };
}

/** A running guest answers ssh within this, however loaded; one that does not is hung. */
const RUNNING_GUEST_GRACE_MS = 90_000;

export function hasPanicked(consoleLog: string): boolean {
  return /Kernel panic - not syncing/.test(consoleLog);
}

async function readyWithin(guest: GuestSpec, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() <= deadline) {
    if (await guestReady(guest)) return true;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  return false;
}

async function waitUntilReady(guest: GuestSpec, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await guestReady(guest))) {
    if (!(await guestRunning(guest))) {
      throw new TestbedError(`the ${guest.name} guest stopped while booting; see ${guestPaths(guest).console}`);
    }
    if (Date.now() > deadline) {
      throw new TestbedError(`the ${guest.name} guest was not ready after ${timeoutMs / 1000} s; see ${guestPaths(guest).console}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/** Power the guest off (its disks are thrown away by `down`). */
export async function stopGuest(guest: GuestSpec): Promise<boolean> {
  return stopDaemon(guestDaemon(guest), 10_000);
}

async function createSparseFile(file: string, size: string): Promise<void> {
  const units: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };
  const match = /^(\d+)([KMG])$/.exec(size);
  if (!match?.[1] || !match[2]) throw new TestbedError(`bad size ${size}`);
  const handle = await open(file, 'w', 0o600);
  try {
    await handle.truncate(Number(match[1]) * (units[match[2]] ?? 1));
  } finally {
    await handle.close();
  }
}
