/**
 * The Debian packages the testbed needs. `up` installs the missing ones when
 * it runs as root; otherwise it says what to install.
 */
import { access, rm, writeFile } from 'node:fs/promises';
import { runLocal, TestbedError } from './local-command.js';

const POLICY_RC = '/usr/sbin/policy-rc.d';

/** Package, and a program that proves it is installed. */
export interface RequiredPackage {
  readonly pkg: string;
  readonly program: string;
}

const REQUIRED: readonly RequiredPackage[] = [
  { pkg: 'zfs-fuse', program: '/usr/sbin/zfs-fuse' },
  { pkg: 'openssh-server', program: '/usr/sbin/sshd' },
  { pkg: 'openssh-client', program: '/usr/bin/ssh' },
  { pkg: 'rsync', program: '/usr/bin/rsync' },
  { pkg: 'docker.io', program: '/usr/sbin/dockerd' },
  { pkg: 'docker-compose', program: '/usr/bin/docker-compose' },
  { pkg: 'busybox-static', program: '/bin/busybox' },
  { pkg: 'mbuffer', program: '/usr/bin/mbuffer' },
  { pkg: 'pv', program: '/usr/bin/pv' },
  { pkg: 'sanoid', program: '/usr/sbin/syncoid' },
  { pkg: 'acl', program: '/usr/bin/getfacl' },
  { pkg: 'attr', program: '/usr/bin/getfattr' },
];

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** What the OpenZFS guests need on this machine: an emulator, its disk tool, the image builder. */
export const GUEST_HOST_PACKAGES: readonly RequiredPackage[] = [
  { pkg: 'qemu-system-x86', program: '/usr/bin/qemu-system-x86_64' },
  { pkg: 'qemu-utils', program: '/usr/bin/qemu-img' },
  { pkg: 'mmdebstrap', program: '/usr/bin/mmdebstrap' },
  { pkg: 'socat', program: '/usr/bin/socat' },
  { pkg: 'e2fsprogs', program: '/usr/sbin/mke2fs' },
];

export async function missingPackages(required: readonly RequiredPackage[] = REQUIRED): Promise<string[]> {
  const missing: string[] = [];
  for (const { pkg, program } of required) if (!(await exists(program))) missing.push(pkg);
  return missing;
}

/** Install what is missing; returns the packages installed. */
export async function ensurePackages(required: readonly RequiredPackage[] = REQUIRED): Promise<string[]> {
  const missing = await missingPackages(required);
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) {
    throw new TestbedError(`the testbed needs these Debian packages, and only root can install them: ${missing.join(' ')}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runLocal('apt-get', ['update'], { env, timeoutMs: 600_000 });
  // Packages' own start scripts would launch system-wide daemons we do not want.
  await writeFile(POLICY_RC, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    await runLocal('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, timeoutMs: 900_000 });
  } finally {
    await rm(POLICY_RC, { force: true });
  }
  return missing;
}
