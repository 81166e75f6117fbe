/**
 * `testbed up|down|status`: three real hosts on this machine, each reachable
 * only over SSH. `up` is idempotent and reports what it changed; `down` stops
 * only what `up` started (found by pid file) and removes the testbed's state.
 */
import { mkdir, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { destroyDockerEngine, dockerEngineRunning, ensureDockerEngine } from './docker-engines.js';
import { testbedHostsYaml } from './hosts-file.js';
import { ensureImage } from './image.js';
import { ensureComposeV2 } from './compose-v2.js';
import { ensurePackages } from './install.js';
import { ensureKeys, writeIfChanged } from './keys.js';
import { TESTBED_HOSTS, testbedPaths, testbedRunDir, testbedSharedPaths, type TestbedHostName, type TestbedHostSpec } from './layout.js';
import { runLocal } from './local-command.js';
import { abortFuseMountsUnder, deadMountsUnder, mountsUnder, unmountAllUnder } from './mounts.js';
import { ensureSshd, sshdRunning, stopSshd } from './sshd.js';
import { ensureZfsSerializer } from './zfs-serializer.js';
import { guestsDown, guestsStatus, guestsUp, runningGuests, type GuestStatus } from './guests/guests.js';
import { ensureTestbedUser, removeTestbedUser, TESTBED_USER } from './testbed-user.js';
import { removePool, ensurePool, ensureZfsDaemon, poolStatus, stopZfsDaemonIfOurs, zfsDaemonAnswers, zfsDaemonRunning } from './zfs-pools.js';

export interface TestbedUpResult {
  readonly hostsFile: string;
  /** What this run changed; empty when everything was already up. */
  readonly changes: readonly string[];
  readonly installedPackages: readonly string[];
  /** When the OpenZFS guests were asked for: the image build and boot times of this run. */
  readonly guests: { readonly imageBuildSeconds: number; readonly bootSeconds: Readonly<Record<string, number>> } | null;
  readonly seconds: number;
}

export interface TestbedUpOptions {
  /** Also boot the OpenZFS guests delta and epsilon (QEMU; minutes the first time). */
  readonly guests?: boolean;
}

export async function testbedUp(report: (line: string) => void = () => {}, options: TestbedUpOptions = {}): Promise<TestbedUpResult> {
  const started = performance.now();
  const changes: string[] = [];
  const note = (items: readonly string[]) => {
    for (const item of items) {
      changes.push(item);
      report(item);
    }
  };
  const shared = testbedSharedPaths();
  const installedPackages = await ensurePackages();
  if (installedPackages.length > 0) note([`installed ${installedPackages.join(' ')}`]);
  await mkdir(shared.dir, { recursive: true, mode: 0o700 });
  await mkdir(testbedRunDir(), { recursive: true });
  note(await ensureKeys());
  if (await ensureTestbedUser()) note([`created user ${TESTBED_USER}`]);
  if (await ensureZfsSerializer()) note(['wrote the serializing zfs for the ZFS hosts']);
  if (TESTBED_HOSTS.some((host) => host.zfs)) {
    // A zfs-fuse that died (crash, reboot, killed session) leaves its mounts
    // behind, and every access to them fails with ENOTCONN. A daemon started
    // over them believes its datasets are mounted: restart it once they are gone.
    const zfsHosts = TESTBED_HOSTS.filter((host) => host.zfs);
    const deadMounts = (await Promise.all(zfsHosts.map((host) => deadMountsUnder(testbedPaths(host).srvRoot)))).flat();
    if (deadMounts.length > 0 || !(await zfsDaemonAnswers())) {
      if (deadMounts.length > 0 && (await stopZfsDaemonIfOurs())) note(['stopped zfs-fuse (its mounts were dead)']);
      for (const host of zfsHosts) note(await releaseMountsUnder(host));
    }
    if (await ensureZfsDaemon()) note(['started zfs-fuse']);
  }

  // One pool at a time: zfs-fuse was seen to hang when two pools were
  // created and mounted at once.
  for (const host of TESTBED_HOSTS) {
    const paths = testbedPaths(host);
    if (host.zfs) note(await ensurePool(host));
    else await mkdir(paths.appdata, { recursive: true });
    await mkdir(paths.compose, { recursive: true });
  }
  await Promise.all(
    TESTBED_HOSTS.map(async (host) => {
      if (await ensureDockerEngine(host)) note([`started ${host.name} dockerd`]);
      if (await ensureImage(host)) note([`imported image into ${host.name}`]);
      if (host.composeV2 && (await ensureComposeV2(host))) note([`installed compose v2 for ${host.name}`]);
      note(await ensureSshd(host));
    }),
  );
  const guests = options.guests ? await guestsUp(note) : null;
  if (await writeIfChanged(shared.hostsFile, testbedHostsYaml(await runningGuests()), 0o600)) note([`wrote ${shared.hostsFile}`]);
  return { hostsFile: shared.hostsFile, changes, installedPackages, guests, seconds: (performance.now() - started) / 1000 };
}

/**
 * Mounts a killed or wedged zfs-fuse left behind would make every access hang
 * or fail. Once they are gone, the empty mountpoint directories beneath them
 * go too: a pool's root refuses to mount over a directory that is not empty.
 * Files are never deleted.
 */
async function releaseMountsUnder(host: TestbedHostSpec): Promise<string[]> {
  const { srvRoot } = testbedPaths(host);
  const released: string[] = [];
  if ((await abortFuseMountsUnder(srvRoot)) > 0) released.push(`${host.name} aborted FUSE mounts`);
  if ((await unmountAllUnder(srvRoot)) > 0) {
    released.push(`${host.name} stale mounts`);
    if ((await mountsUnder(srvRoot)).length === 0) {
      await runLocal('find', [srvRoot, '-mindepth', '1', '-depth', '-type', 'd', '-empty', '-delete'], { okExitCodes: [0, 1] });
    }
  }
  return released;
}

export interface TestbedDownResult {
  readonly stopped: readonly string[];
  readonly seconds: number;
}

export async function testbedDown(report: (line: string) => void = () => {}): Promise<TestbedDownResult> {
  const started = performance.now();
  const stopped: string[] = [];
  const note = (item: string) => {
    stopped.push(item);
    report(item);
  };
  await guestsDown(note);
  await Promise.all(
    TESTBED_HOSTS.map(async (host) => {
      if (await stopSshd(host)) note(`${host.name} sshd`);
      if (await destroyDockerEngine(host)) note(`${host.name} dockerd`);
    }),
  );
  for (const host of TESTBED_HOSTS) if (host.zfs && (await removePool(host))) note(`${host.name} pool`);
  if (await stopZfsDaemonIfOurs()) note('zfs-fuse');
  for (const host of TESTBED_HOSTS) {
    const paths = testbedPaths(host);
    for (const item of await releaseMountsUnder(host)) note(item);
    await rm(paths.srvRoot, { recursive: true, force: true });
    await rm(paths.poolImage, { force: true });
  }
  if (await removeTestbedUser()) note(`user ${TESTBED_USER}`);
  await rm(testbedSharedPaths().dir, { recursive: true, force: true });
  await rm(testbedRunDir(), { recursive: true, force: true });
  return { stopped, seconds: (performance.now() - started) / 1000 };
}

export interface TestbedHostStatus {
  readonly host: TestbedHostName;
  readonly address: string;
  readonly sshd: boolean;
  readonly dockerd: boolean;
  /** Pool health for ZFS hosts, null for the plain-directory host. */
  readonly pool: string | null;
}

export interface TestbedStatus {
  readonly hostsFile: string;
  readonly zfsFuse: boolean;
  readonly hosts: readonly TestbedHostStatus[];
  /** The OpenZFS guests; they are optional, so they do not count for `up`. */
  readonly guests: readonly GuestStatus[];
  readonly up: boolean;
}

export async function testbedStatus(): Promise<TestbedStatus> {
  const zfsFuse = await zfsDaemonRunning();
  const hosts = await Promise.all(
    TESTBED_HOSTS.map(async (host): Promise<TestbedHostStatus> => {
      const pool = host.zfs ? (zfsFuse ? await poolStatus(host) : { imported: false }) : undefined;
      return {
        host: host.name,
        address: host.address,
        sshd: await sshdRunning(host),
        dockerd: await dockerEngineRunning(host),
        pool: pool === undefined ? null : pool.imported ? (pool.health ?? 'unknown') : 'missing',
      };
    }),
  );
  const up = hosts.every((h) => h.sshd && h.dockerd && (h.pool === null || h.pool === 'ONLINE'));
  return { hostsFile: testbedSharedPaths().hostsFile, zfsFuse, hosts, guests: await guestsStatus(), up };
}
