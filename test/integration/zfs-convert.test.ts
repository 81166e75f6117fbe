import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { compareManifests, readManifest } from '../../src/transfer/manifest.js';
import { ASIDE_SUFFIX } from '../../src/zfs/convert-directory.js';
import { ConversionError, ServicePathInUseError } from '../../src/zfs/errors.js';
import { pathKind, pathKinds } from '../../src/zfs/path-kind.js';
import { ensureServiceDataset } from '../../src/zfs/service-dataset.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { buildFixtureTree } from './fixture-tree.js';
import { testbedHost } from './testbed.js';

let alpha: HostConfig;
let transport: SshTransport;
let zfs: ZfsHost;
const prefix = `conv${process.pid}`;
const pathOf = (name: string) => `/srv/alpha/appdata/${prefix}-${name}`;
const datasetOf = (name: string) => `alpha/appdata/${prefix}-${name}`;
const sh = (script: string, ...args: string[]) => transport.exec(command(['sh', '-c', script, 'sh', ...args]));

beforeAll(async () => {
  alpha = await testbedHost('alpha');
  transport = new SshTransport(alpha);
  zfs = new ZfsHost(transport);
});

afterAll(async () => {
  const datasets = (await transport.exec(command(['zfs', 'list', '-H', '-o', 'name', '-r', 'alpha/appdata']))).stdout
    .split('\n')
    .filter((name) => name.startsWith(`alpha/appdata/${prefix}-`))
    .sort()
    .reverse();
  for (const dataset of datasets) await zfs.destroyDataset(dataset);
  await sh(`rm -rf /srv/alpha/appdata/${prefix}-*`);
  await transport.close();
});

describe('ensureServiceDataset', () => {
  it('refuses a service path inside a plain directory that holds files: a dataset for it would hide them', async () => {
    await sh('mkdir -p "$1/app" && echo keep > "$1/notes"', pathOf('outer'));
    await expect(ensureServiceDataset(zfs, alpha, `${pathOf('outer')}/app`)).rejects.toThrow(
      new RegExp(`lies in ${pathOf('outer')}, a plain directory; a dataset for it would need ${datasetOf('outer')}`),
    );
    expect(await zfs.dataset(`${datasetOf('outer')}/app`)).toBeNull();
    expect((await sh('cat "$1/notes"', pathOf('outer'))).stdout).toBe('keep\n');
  });

  it('tells what is at many paths in one round trip, as pathKind does one by one', async () => {
    await sh('mkdir -p "$1/d" && : > "$1/f" && ln -s d "$1/l" && ln -s gone "$1/broken"', pathOf('kinds'));
    const paths = ['d', 'f', 'l', 'broken', 'missing', 'name with spaces; $(x)'].map((name) => `${pathOf('kinds')}/${name}`);
    const kinds = await pathKinds(transport, paths);
    expect(kinds).toEqual(['directory', 'other', 'other', 'other', 'missing', 'missing']);
    expect(await Promise.all(paths.map((p) => pathKind(transport, p)))).toEqual(kinds);
  });

  it('creates a dataset for a missing service path, mounted there and marked as ours', async () => {
    const result = await ensureServiceDataset(zfs, alpha, pathOf('fresh'));
    expect(result).toMatchObject({ action: 'created', dataset: datasetOf('fresh') });
    expect(await zfs.dataset(datasetOf('fresh'))).toMatchObject({ mounted: true, mountpoint: pathOf('fresh'), managed: true });
    expect(await ensureServiceDataset(zfs, alpha, pathOf('fresh'))).toMatchObject({ action: 'existing' });
  });

  it('converts a plain directory into a dataset keeping every kind of file exactly', async () => {
    const path = pathOf('tree');
    await buildFixtureTree(transport, path);
    const before = await readManifest(transport, path);
    expect(before.entries.size).toBeGreaterThan(15);
    expect([...before.entries.values()].some((e) => e.sparse)).toBe(true);
    expect([...before.entries.values()].some((e) => e.hardLinkGroup !== null)).toBe(true);

    const result = await ensureServiceDataset(zfs, alpha, path);
    expect(result.action).toBe('converted');
    expect(result.conversion?.resumed).toBe(false);
    expect((await zfs.filesystems()).find((fs) => fs.mountpoint === path)?.name).toBe(datasetOf('tree'));
    const after = await readManifest(transport, path);
    expect(compareManifests(before, after)).toEqual([]);
    expect(await pathKind(transport, `${path}${ASIDE_SUFFIX}`)).toBe('missing');
    // Still sparse: 64 MiB of size, next to nothing allocated (once ZFS has synced).
    const [blocks, size] = (await transport.exec(command(['stat', '-c', '%b %s', `${path}/db/sparse.img`]))).stdout.trim().split(' ').map(Number);
    expect(size).toBe(64 * 1024 * 1024 + 4);
    expect((blocks ?? Infinity) * 512).toBeLessThan(1024 * 1024);
  });

  it('the manifest comparison catches a changed byte, owner and mode', async () => {
    const path = pathOf('tree');
    const before = await readManifest(transport, path);
    await sh('printf y > "$1/db/deep/er/leaf"; chown 1:1 "$1/.env"; chmod 0600 "$1/config/app.conf"', path);
    const differences = compareManifests(before, await readManifest(transport, path));
    expect(differences.map((d) => `${d.path}:${d.field}`).sort()).toEqual(
      expect.arrayContaining(['db/deep/er/leaf:sha256', '.env:uid', '.env:gid', 'config/app.conf:mode']),
    );
  });

  it('refuses to convert a directory a running container uses, and leaves it as it was', async () => {
    const path = pathOf('busy');
    await sh('mkdir -p "$1" && echo data > "$1/file"', path);
    const name = `${prefix}-busy`;
    await transport.exec(command(['docker', 'run', '-d', '--name', name, '--network', 'none', '-v', `${path}:/data`, 'local/busybox:test', 'sleep', '600']));
    try {
      const error = await ensureServiceDataset(zfs, alpha, path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServicePathInUseError);
      expect((error as Error).message).toContain(name);
      expect(await zfs.dataset(datasetOf('busy'))).toBeNull();
      expect((await sh('cat "$1/file"', path)).stdout).toBe('data\n');
    } finally {
      await transport.exec(command(['docker', 'rm', '-f', name]));
    }
  });

  it('finishes a conversion that crashed after moving the directory aside', async () => {
    const path = pathOf('crash1');
    await buildFixtureTree(transport, path);
    const before = await readManifest(transport, path);
    await transport.exec(command(['mv', '-T', path, `${path}${ASIDE_SUFFIX}`]));
    const result = await ensureServiceDataset(zfs, alpha, path);
    expect(result).toMatchObject({ action: 'converted', conversion: { resumed: true } });
    expect(compareManifests(before, await readManifest(transport, path))).toEqual([]);
    expect(await pathKind(transport, `${path}${ASIDE_SUFFIX}`)).toBe('missing');
  });

  it('finishes a conversion that crashed half-way through the copy', async () => {
    const path = pathOf('crash2');
    await buildFixtureTree(transport, path);
    const before = await readManifest(transport, path);
    const aside = `${path}${ASIDE_SUFFIX}`;
    await transport.exec(command(['mv', '-T', path, aside]));
    await transport.exec(command(['zfs', 'create', '-o', 'docker-mcp:managed=yes', datasetOf('crash2')]));
    await sh('cp -a "$1/config" "$2/" && echo partial > "$2/.env"', aside, path);
    await ensureServiceDataset(zfs, alpha, path);
    expect(compareManifests(before, await readManifest(transport, path))).toEqual([]);
  });

  it('leaves the original directory as it was when its dataset has no room for the copy', async () => {
    // The service lives in a dataset of its own with little room left: the
    // free-space check refuses before anything is moved.
    const outer = datasetOf('quota');
    // Room for the original (8 MB) but not for a second copy of it.
    await transport.exec(command(['zfs', 'create', '-o', 'quota=12M', outer]));
    const path = `${pathOf('quota')}/svc`;
    await sh('mkdir -p "$1" && head -c 8000000 /dev/urandom > "$1/big" && echo keep > "$1/.dot"', path);
    const before = await readManifest(transport, path);
    const error = await ensureServiceDataset(zfs, alpha, path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(await zfs.dataset(`${outer}/svc`)).toBeNull();
    expect(await pathKind(transport, `${path}${ASIDE_SUFFIX}`)).toBe('missing');
    expect(compareManifests(before, await readManifest(transport, path))).toEqual([]);
  });

  it('refuses a service path nested in a plain directory, which a dataset would hide', async () => {
    await sh('mkdir -p "$1/inner" && echo x > "$1/keep"', pathOf('outer'));
    const error = await ensureServiceDataset(zfs, alpha, `${pathOf('outer')}/inner`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConversionError);
    expect((await sh('cat "$1/keep"', pathOf('outer'))).stdout).toBe('x\n');
  });
});
