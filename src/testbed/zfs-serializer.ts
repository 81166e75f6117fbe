/**
 * On real hosts each one has its own ZFS. Here one zfs-fuse daemon serves
 * every host's pool, and it was seen to stop answering (lookups and unmounts
 * stuck for good) when datasets were created, received, mounted and
 * unmounted at the same moment from several sessions. The ZFS hosts'
 * sessions therefore find a `zfs` first on their PATH that runs the commands
 * which mount or unmount one at a time, machine-wide; every other zfs
 * command (list, get, snapshot, send) runs as it is.
 */
import path from 'node:path';
import { writeIfChanged } from './keys.js';
import { testbedRunDir, testbedSharedPaths } from './layout.js';

const MOUNTING_SUBCOMMANDS = ['create', 'destroy', 'mount', 'umount', 'unmount', 'receive', 'recv', 'rename', 'set', 'inherit', 'rollback', 'promote', 'clone'];

export function zfsSerializerDir(): string {
  return path.join(testbedSharedPaths().dir, 'bin');
}

/** The PATH of a ZFS host's sessions: the serializing `zfs` first, then the system's. */
export function zfsHostPath(): string {
  return `${zfsSerializerDir()}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
}

function serializerScript(): string {
  const lock = path.join(testbedRunDir(), 'zfs-mount.lock');
  return `#!/bin/sh
# docker-mcp testbed: zfs commands that mount or unmount run one at a time on this machine
# (one zfs-fuse daemon serves every testbed host's pool). Written by "docker-mcp testbed up".
case "$1" in
  ${MOUNTING_SUBCOMMANDS.join('|')}) exec flock ${lock} /usr/sbin/zfs "$@" ;;
esac
exec /usr/sbin/zfs "$@"
`;
}

/** Write the serializing `zfs`; returns whether it changed. */
export function ensureZfsSerializer(): Promise<boolean> {
  return writeIfChanged(path.join(zfsSerializerDir(), 'zfs'), serializerScript(), 0o755);
}
