/**
 * The guests' disk image: a Debian trixie root file system made by
 * mmdebstrap from the machine's own Debian archive, with OpenZFS built by
 * zfs-dkms for the guest's kernel. Built once and kept in a cache directory
 * named by what went into it; every guest boots a copy-on-write overlay of it.
 *
 * The image holds only packages and a boot hook: what makes a guest delta or
 * epsilon (host keys, accounts, pool, names) comes from a small per-guest
 * configuration disk, so changing it never forces a rebuild.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runLocal, TestbedError } from '../local-command.js';
import { debianMirror } from './debian-mirror.js';
import { guestImageCacheDir } from './guest-layout.js';

export const GUEST_SUITE = 'trixie';

const PACKAGES = [
  'linux-image-amd64', 'linux-headers-amd64', 'zfs-dkms', 'zfsutils-linux',
  'systemd-sysv', 'udev', 'iproute2', 'kmod', 'procps', 'openssh-server', 'openssh-client', 'sudo',
  'docker.io', 'docker-cli', 'docker-compose',
  'rsync', 'mbuffer', 'pv', 'zstd', 'socat', 'python3', 'busybox-static', 'acl', 'attr', 'e2fsprogs',
];

/** The guest's boot hook: mounts its configuration disk and runs the set-up script found there. */
const SETUP_UNIT = `[Unit]
Description=docker-mcp testbed guest: set-up from the configuration disk
After=local-fs.target systemd-modules-load.service
Before=ssh.service docker.service
DefaultDependencies=no

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/docker-mcp-guest-setup early

[Install]
WantedBy=multi-user.target
`;

const LATE_UNIT = `[Unit]
Description=docker-mcp testbed guest: set-up once Docker runs
After=docker.service docker-mcp-guest.service
Requires=docker.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/docker-mcp-guest-setup late

[Install]
WantedBy=multi-user.target
`;

const SETUP_HOOK = `#!/bin/sh
set -eu
mkdir -p /run/docker-mcp-config
mountpoint -q /run/docker-mcp-config || mount -o ro /dev/vdc /run/docker-mcp-config
exec /bin/sh /run/docker-mcp-config/setup.sh "$1"
`;

const NETWORK = `[Match]
Name=en*

[Network]
DHCP=ipv4
`;

export interface GuestImage {
  readonly dir: string;
  readonly rootImage: string;
  readonly kernel: string;
  readonly initrd: string;
}

/** What the image is made of; a change gives a new cache directory. */
function imageKey(): string {
  const hash = createHash('sha256');
  for (const part of [GUEST_SUITE, ...PACKAGES, SETUP_UNIT, LATE_UNIT, SETUP_HOOK, NETWORK]) hash.update(`${part}\0`);
  return hash.digest('hex').slice(0, 16);
}

function imageIn(dir: string): GuestImage {
  return { dir, rootImage: path.join(dir, 'root.img'), kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img') };
}

/** The cached image, when one was built from the current recipe. */
export function cachedGuestImage(): GuestImage | undefined {
  const image = imageIn(path.join(guestImageCacheDir(), imageKey()));
  return existsSync(path.join(image.dir, 'complete')) ? image : undefined;
}

export interface GuestImageResult {
  readonly image: GuestImage;
  /** Seconds spent building; 0 when the cached image was reused. */
  readonly buildSeconds: number;
}

let building: Promise<GuestImageResult> | undefined;

/** The image, built first when the cache has none for the current recipe. */
export function ensureGuestImage(report: (line: string) => void = () => {}): Promise<GuestImageResult> {
  const cached = cachedGuestImage();
  if (cached) return Promise.resolve({ image: cached, buildSeconds: 0 });
  building ??= buildGuestImage(report).finally(() => (building = undefined));
  return building;
}

async function buildGuestImage(report: (line: string) => void): Promise<GuestImageResult> {
  const started = performance.now();
  const cacheDir = guestImageCacheDir();
  const finalDir = path.join(cacheDir, imageKey());
  const workDir = `${finalDir}.building`;
  const rootfs = path.join(workDir, 'rootfs');
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const mirror = await debianMirror();
  report(`building the OpenZFS guest image (Debian ${GUEST_SUITE}, once; a few minutes)`);
  await runLocal(
    'mmdebstrap',
    [
      '--variant=minbase',
      '--components=main,contrib',
      '--include', PACKAGES.join(','),
      // Keep the machine's own apt state out of it; the guest gets its own lists.
      '--aptopt=Acquire::Languages "none"',
      GUEST_SUITE,
      rootfs,
      `deb ${mirror} ${GUEST_SUITE} main contrib`,
    ],
    // Minutes on an idle machine; over an hour when other work shares the two
    // cores (zfs-dkms compiles the module for the guest kernel in here).
    { timeoutMs: 7_200_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } },
  );
  await customize(rootfs);
  const image = imageIn(workDir);
  await copyBootFiles(rootfs, image);
  // A sparse 12 GiB ext4 holding the tree: room for Docker's layers in the guest.
  await runLocal('mke2fs', ['-q', '-t', 'ext4', '-L', 'root', '-d', rootfs, image.rootImage, '12G'], { timeoutMs: 600_000 });
  await rm(rootfs, { recursive: true, force: true });
  await writeFile(path.join(workDir, 'complete'), `${new Date().toISOString()}\n`);
  await rm(finalDir, { recursive: true, force: true });
  await rename(workDir, finalDir);
  const buildSeconds = (performance.now() - started) / 1000;
  report(`built the guest image in ${buildSeconds.toFixed(0)} s`);
  return { image: imageIn(finalDir), buildSeconds };
}

async function customize(rootfs: string): Promise<void> {
  const modules = path.join(rootfs, 'lib/modules');
  const kernels = existsSync(modules) ? await readdir(modules) : [];
  const hasZfs = kernels.some((kernel) => existsSync(path.join(modules, kernel, 'updates/dkms/zfs.ko.xz')) || existsSync(path.join(modules, kernel, 'updates/dkms/zfs.ko')));
  if (!hasZfs) throw new TestbedError(`zfs-dkms built no zfs module for the guest kernel (${kernels.join(', ') || 'no kernel'})`);

  await writeFile(path.join(rootfs, 'etc/fstab'), '/dev/vda / ext4 rw,relatime 0 1\n');
  await writeFile(path.join(rootfs, 'etc/systemd/network/20-wired.network'), NETWORK);
  await writeFile(path.join(rootfs, 'etc/systemd/system/docker-mcp-guest.service'), SETUP_UNIT);
  await writeFile(path.join(rootfs, 'etc/systemd/system/docker-mcp-guest-late.service'), LATE_UNIT);
  const hook = path.join(rootfs, 'usr/local/sbin/docker-mcp-guest-setup');
  await writeFile(hook, SETUP_HOOK);
  await chmod(hook, 0o755);
  // Each guest gets its own host keys and machine id from its configuration disk / first boot.
  for (const name of await readdir(path.join(rootfs, 'etc/ssh'))) {
    if (name.startsWith('ssh_host_')) await rm(path.join(rootfs, 'etc/ssh', name));
  }
  await writeFile(path.join(rootfs, 'etc/machine-id'), '');
  await rm(path.join(rootfs, 'var/lib/dbus/machine-id'), { force: true });
  await runLocal('chroot', [rootfs, 'systemctl', 'enable', 'systemd-networkd', 'ssh', 'docker', 'docker-mcp-guest', 'docker-mcp-guest-late']);
  // The pool is imported by the set-up script, never from a stale cache file.
  await runLocal('chroot', [rootfs, 'systemctl', 'disable', 'zfs-import-cache', 'zfs-zed'], { okExitCodes: [0, 1] });
  await rm(path.join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
  await mkdir(path.join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
}

async function copyBootFiles(rootfs: string, image: GuestImage): Promise<void> {
  const boot = path.join(rootfs, 'boot');
  const files = await readdir(boot);
  const kernel = files.find((name) => name.startsWith('vmlinuz-'));
  const initrd = files.find((name) => name.startsWith('initrd.img-'));
  if (!kernel || !initrd) throw new TestbedError(`the guest image has no kernel or initrd in /boot (${files.join(', ')})`);
  await copyFile(path.join(boot, kernel), image.kernel);
  await copyFile(path.join(boot, initrd), image.initrd);
}
