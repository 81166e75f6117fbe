import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  filesystemHolding,
  parseComposeVersion,
  parseDfFreeBytes,
  parseDockerVersion,
  parseRsyncVersion,
  parseZfsFilesystems,
} from '../../src/host/parsers.js';
import { parseZfsUsage } from '../../src/host/zfs-features.js';
import { mountPointsIn, parseMountInfo } from '../../src/host/mount-points.js';

describe('zfs feature detection', () => {
  // Recorded from OpenZFS 2.1 (`zfs` with no arguments). The testbed runs
  // zfs-fuse, which has none of these features, so this branch is only
  // reachable with a recorded output.
  it('finds every modern send/receive feature in OpenZFS 2.x usage', () => {
    const usage = readFileSync(new URL('../fixtures/openzfs-2.1-zfs-usage.txt', import.meta.url), 'utf8');
    expect(parseZfsUsage(usage)).toEqual({
      resumeTokens: true,
      sizeEstimate: true,
      compressedSend: true,
      rawSend: true,
      largeBlocks: true,
      embeddedData: true,
      bookmarks: true,
      receiveUnmounted: true,
      receiveRefreshesMount: true,
      atomicSnapshots: true,
    });
  });

  it("takes zfs-fuse's snapshot usage (one filesystem@snapname) for one snapshot per command", () => {
    const usage = '\tsnapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>\n';
    expect(parseZfsUsage(usage).atomicSnapshots).toBe(false);
  });

  it('finds none in a usage that only knows -RDp and -vnF, and takes it for an old implementation that needs a remount after a receive', () => {
    const usage = '\tsend [-RDp] [-[iI] snapshot] <snapshot>\n\treceive [-vnF] <filesystem|volume|snapshot>\n';
    expect(Object.values(parseZfsUsage(usage)).some(Boolean)).toBe(false);
  });
});

describe('probe output parsers', () => {
  it('reads docker version JSON and tolerates a missing server', () => {
    expect(parseDockerVersion('{"Client":{"Version":"28.2.2"},"Server":{"Version":"20.10.24","ApiVersion":"1.41"}}')).toEqual({
      serverVersion: '20.10.24',
      apiVersion: '1.41',
      clientVersion: '28.2.2',
    });
    expect(parseDockerVersion('{"Client":{"Version":"28.2.2"},"Server":null}')).toBeNull();
    expect(parseDockerVersion('not json')).toBeNull();
  });

  it('reads compose versions of both flavours', () => {
    expect(parseComposeVersion('1.29.2\n')).toBe('1.29.2');
    expect(parseComposeVersion('v2.24.5')).toBe('2.24.5');
    expect(parseComposeVersion('2.27.0-desktop.1')).toBe('2.27.0-desktop.1');
    expect(parseComposeVersion('')).toBeNull();
  });

  it('reads rsync and df', () => {
    expect(parseRsyncVersion('rsync  version 3.2.7  protocol version 31\nCopyright')).toEqual({ version: '3.2.7', protocol: 31 });
    expect(
      parseDfFreeBytes('Filesystem     1024-blocks  Used Available Capacity Mounted on\nalpha/appdata      2998272   128   2998144       1% /srv/alpha/appdata\n'),
    ).toBe(2998144 * 1024);
    expect(parseDfFreeBytes('garbage')).toBeNull();
  });

  it('finds the dataset holding a path by the longest mountpoint', () => {
    const lines = [
      ['alpha', '/srv/alpha', '100'],
      ['alpha/appdata', '/srv/alpha/appdata', '90'],
      ['alpha/appdata2', '/srv/alpha/appdata2', '5'],
    ].flatMap(([name, mountpoint, available]) => [
      `${name}\ttype\tfilesystem`,
      `${name}\tmountpoint\t${mountpoint}`,
      `${name}\tavailable\t${available}`,
    ]);
    lines.push('alpha/appdata@s1\ttype\tsnapshot', 'alpha/appdata@s1\tmountpoint\t-');
    const filesystems = parseZfsFilesystems(`${lines.join('\n')}\n`);
    expect(filesystems.map((f) => f.name)).toEqual(['alpha', 'alpha/appdata', 'alpha/appdata2']);
    expect(filesystems[1]?.availableBytes).toBe(90);
    expect(filesystemHolding(filesystems, '/srv/alpha/appdata')?.name).toBe('alpha/appdata');
    expect(filesystemHolding(filesystems, '/srv/alpha/appdata/x')?.name).toBe('alpha/appdata');
    expect(filesystemHolding(filesystems, '/srv/alpha/other')?.name).toBe('alpha');
    expect(filesystemHolding(filesystems, '/srv/beta')).toBeNull();
  });
});

describe('mount points from /proc/self/mountinfo', () => {
  const mountinfo = [
    '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
    '40 22 0:35 / /srv/appdata rw shared:5 - zfs tank/appdata rw,xattr,posixacl',
    '41 40 0:36 / /srv/appdata/app/cache rw shared:6 - tmpfs tmpfs rw',
    '42 40 0:37 / /srv/appdata/app\\040two/nfs rw shared:7 - nfs4 nas:/x rw',
    '43 40 0:38 / /srv/appdata/apple rw shared:8 - zfs tank/appdata/apple rw',
  ].join('\n');

  it('reads each mount point with its octal escapes undone', () => {
    expect(parseMountInfo(mountinfo)).toEqual(['/', '/srv/appdata', '/srv/appdata/app/cache', '/srv/appdata/app two/nfs', '/srv/appdata/apple']);
  });

  it('keeps those at or under a path, not a sibling that shares its prefix', () => {
    const points = parseMountInfo(mountinfo);
    expect(mountPointsIn(points, '/srv/appdata/app')).toEqual(['/srv/appdata/app/cache']);
    expect(mountPointsIn(points, '/srv/appdata/apple')).toEqual(['/srv/appdata/apple']);
    expect(mountPointsIn(points, '/srv/appdata/apple', { strictlyUnder: true })).toEqual([]);
  });
});
