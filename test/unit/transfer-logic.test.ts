import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import { buildManifest, compareManifests } from '../../src/transfer/manifest.js';
import { ProgressMeter, type ProgressEvent } from '../../src/transfer/progress.js';
import { rsyncRemoteShell } from '../../src/transfer/source-to-target-ssh.js';
import { shouldCompress } from '../../src/transfer/compression.js';
import { rsyncArguments } from '../../src/transfer/rsync-transfer.js';
import { chooseMethod } from '../../src/transfer/transfer-services.js';

const record = (fields: string[]) => `${fields.join('\0')}\0`;

describe('buildManifest', () => {
  const listing = Buffer.from(
    record(['', 'd', '755', '0', '0', '4096', '1.5', '8', '1', '3', '']) +
      record(['a\nb', 'f', '644', '1', '2', '3', '2.25', '8', '10', '2', '']) +
      record(['hard', 'f', '644', '1', '2', '3', '2.25', '8', '10', '2', '']) +
      record(['hole', 'f', '600', '0', '0', '1048576', '3.0', '0', '11', '1', '']) +
      record(['ln', 'l', '777', '0', '0', '4', '4.0', '0', '12', '1', 'hole']),
  );
  const hashes = Buffer.from(`${'a'.repeat(64)}  ./a\nb\0${'a'.repeat(64)}  ./hard\0${'b'.repeat(64)}  ./hole\0`);

  it('keeps names with newlines, groups hard links, spots sparse files and reads xattrs', () => {
    const manifest = buildManifest('/x', listing, hashes, '# file: .\n\n# file: ./a\\012b\nuser.k=0x31\n\n');
    expect([...manifest.entries.keys()]).toEqual(['', 'a\nb', 'hard', 'hole', 'ln']);
    expect(manifest.entries.get('a\nb')).toMatchObject({ hardLinkGroup: 'a\nb', sha256: 'a'.repeat(64), xattrs: { 'user.k': '0x31' } });
    expect(manifest.entries.get('hard')?.hardLinkGroup).toBe('a\nb');
    expect(manifest.entries.get('hole')?.sparse).toBe(true);
    expect(manifest.entries.get('ln')?.linkTarget).toBe('hole');
    expect(manifest.totalBytes).toBe(3 + 3 + 1048576);
  });

  it('compares everything but symlink times, and reports a lost hard link or xattr', () => {
    const source = buildManifest('/x', listing, hashes, '# file: ./a\\012b\nuser.k=0x31\n');
    const brokenLinks = Buffer.from(listing.toString().replace('10\x002\x00\x00', '13\x001\x00\x00'));
    const target = buildManifest('/y', brokenLinks, hashes, '');
    const fields = compareManifests(source, target).map((d) => `${d.path}:${d.field}`);
    expect(fields).toContain('a\nb:xattrs');
    expect(fields.some((f) => f.endsWith(':hardLinkGroup'))).toBe(true);
  });

  it('does not compare xattrs when one side could not read them', () => {
    const withXattrs = buildManifest('/x', listing, hashes, '# file: ./a\\012b\nuser.k=0x31\n');
    const unknown = buildManifest('/y', listing, hashes, null);
    expect(unknown.xattrsChecked).toBe(false);
    expect(compareManifests(withXattrs, unknown)).toEqual([]);
  });
});

describe('ProgressMeter', () => {
  it('reports bytes, rate and an ETA when the total is known, none when it is not', () => {
    const events: ProgressEvent[] = [];
    const meter = new ProgressMeter('db', 1000, (event) => events.push(event), 0);
    meter.add(250);
    meter.finish();
    const last = events.at(-1);
    expect(last).toMatchObject({ type: 'transfer-progress', service: 'db', bytesDone: 250, bytesTotal: 1000 });
    expect(last?.type === 'transfer-progress' && last.etaSeconds !== null && last.etaSeconds >= 0).toBe(true);
    const unknown: ProgressEvent[] = [];
    new ProgressMeter('x', null, (event) => unknown.push(event), 0).finish();
    expect(unknown[0]).toMatchObject({ bytesTotal: null, etaSeconds: null });
  });
});

const host = (fields: Partial<HostConfig>): HostConfig =>
  ({ id: 'h', hostname: 'h', user: 'root', port: 22, description: '', tags: [], zfs_capable: false, enabled: true, ...fields }) as HostConfig;

describe('rsyncRemoteShell', () => {
  it('quotes an identity path with spaces and quotes so that it splits back exactly', () => {
    const shellText = rsyncRemoteShell(host({ port: 2222, identity_file: "/keys/my key's", known_hosts_file: '/k h' }));
    const argv = JSON.parse(execFileSync('sh', ['-c', `node -e 'console.log(JSON.stringify(process.argv.slice(1)))' ${shellText}`], { encoding: 'utf8' })) as string[];
    expect(argv).toEqual(['ssh', '-T', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', 'ForwardAgent=no', '-o', 'ForwardX11=no', '-o', 'ConnectTimeout=10', '-p', '2222', '-i', "/keys/my key's", '-o', 'IdentitiesOnly=yes', '-o', 'UserKnownHostsFile=/k h', '-l', 'root']);
  });
});

describe('rsyncArguments', () => {
  it("keeps the paths away from the target's shell, whatever the source's rsync version", () => {
    expect(rsyncArguments('/a', host({}), '/b')).toContain('-s');
  });
});

describe('chooseMethod', () => {
  const zfsHost = (name: string) => ({ host: host({ id: name, zfs_capable: true, zfs_dataset: `${name}/appdata`, appdata_path: `/srv/${name}/appdata` }), transport: {} as never });
  const plainHost = { host: host({ id: 'gamma', appdata_path: '/srv/gamma/appdata' }), transport: {} as never };
  const service = (target: string) => ({ service: 's', sourcePath: '/srv/alpha/appdata/s', targetPath: `/srv/${target}/appdata/s` });

  it('uses zfs between ZFS hosts, rsync when either lacks it or a path lies outside appdata', () => {
    expect(chooseMethod({ source: zfsHost('alpha'), target: zfsHost('beta') }, service('beta'))).toBe('zfs');
    expect(chooseMethod({ source: zfsHost('alpha'), target: plainHost }, service('gamma'))).toBe('rsync');
    expect(chooseMethod({ source: zfsHost('alpha'), target: zfsHost('beta') }, { ...service('beta'), sourcePath: '/opt/s' })).toBe('rsync');
  });

  it('says why when zfs is demanded but impossible', () => {
    expect(() => chooseMethod({ source: zfsHost('alpha'), target: plainHost, method: 'zfs' }, service('gamma'))).toThrow(/both hosts need ZFS/);
  });
});

describe('shouldCompress', () => {
  const loop = { hostname: '127.0.0.11' };
  const lan = { hostname: 'nas.lan' };
  it('compresses across a network when both ends have zstd, not on loopback', () => {
    expect(shouldCompress('auto', loop, { hostname: '127.0.0.12' }, true)).toBe(false);
    expect(shouldCompress('auto', loop, lan, true)).toBe(true);
    expect(shouldCompress('auto', lan, lan, false)).toBe(false);
  });
  it('obeys on and off, but never without zstd on both ends', () => {
    expect(shouldCompress('on', loop, loop, true)).toBe(true);
    expect(shouldCompress('off', lan, lan, true)).toBe(false);
    expect(shouldCompress('on', lan, lan, false)).toBe(false);
  });
});
