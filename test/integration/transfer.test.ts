import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { compareManifests, readManifest } from '../../src/transfer/manifest.js';
import type { ProgressEvent } from '../../src/transfer/progress.js';
import { transferServices, type TransferEndpoint } from '../../src/transfer/transfer-services.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { buildFixtureTree } from './fixture-tree.js';
import { testbedHost } from './testbed.js';

const prefix = `xfer${process.pid}`;
const endpoints: Record<'alpha' | 'beta' | 'gamma', TransferEndpoint> = {} as never;
const appdata = (host: 'alpha' | 'beta' | 'gamma', name: string) => `/srv/${host}/appdata/${prefix}-${name}`;
const sh = (host: 'alpha' | 'beta' | 'gamma', script: string, ...args: string[]) =>
  endpoints[host].transport.exec(command(['sh', '-c', script, 'sh', ...args]));

async function cleanUp(host: 'alpha' | 'beta'): Promise<void> {
  const zfs = new ZfsHost(endpoints[host].transport);
  const datasets = (await endpoints[host].transport.exec(command(['zfs', 'list', '-H', '-o', 'name', '-r', `${host}/appdata`]))).stdout
    .split('\n')
    .filter((name) => name.startsWith(`${host}/appdata/${prefix}-`))
    .sort()
    .reverse();
  for (const dataset of datasets) await zfs.destroyDataset(dataset);
  await sh(host, `rm -rf /srv/${host}/appdata/${prefix}-*`);
}

beforeAll(async () => {
  for (const id of ['alpha', 'beta', 'gamma'] as const) {
    const host: HostConfig = await testbedHost(id);
    endpoints[id] = { host, transport: new SshTransport(host) };
  }
});

afterAll(async () => {
  await cleanUp('alpha');
  await cleanUp('beta');
  await sh('gamma', `rm -rf /srv/gamma/appdata/${prefix}-*`);
  for (const endpoint of Object.values(endpoints)) await endpoint.transport.close();
});

async function expectSameTree(from: 'alpha' | 'beta' | 'gamma', fromPath: string, to: 'alpha' | 'beta' | 'gamma', toPath: string) {
  const [source, target] = await Promise.all([
    readManifest(endpoints[from].transport, fromPath),
    readManifest(endpoints[to].transport, toPath),
  ]);
  expect(source.entries.size).toBeGreaterThan(0);
  expect(compareManifests(source, target)).toEqual([]);
}

describe('transferServices between ZFS hosts', () => {
  it('moves one service into its own dataset on the target, with every file intact and progress reported', async () => {
    const sourceZfs = new ZfsHost(endpoints.alpha.transport);
    await sourceZfs.createDataset(`alpha/appdata/${prefix}-single`);
    await buildFixtureTree(endpoints.alpha.transport, appdata('alpha', 'single'));
    const events: ProgressEvent[] = [];
    const summary = await transferServices({
      source: endpoints.alpha,
      target: endpoints.beta,
      services: [{ service: 'single', sourcePath: appdata('alpha', 'single'), targetPath: appdata('beta', 'single') }],
      snapshotTag: 't1',
      route: 'relay',
      onProgress: (event) => events.push(event),
    });
    expect(summary.results.map((r) => r.error)).toEqual([null]);
    expect(summary).toMatchObject({ services_transferred: 1, total_services: 1 });
    const [result] = summary.results;
    expect(result).toMatchObject({ ok: true, method: 'zfs', mode: 'full', route: 'relay', sourcePreparation: 'existing', targetDataset: `beta/appdata/${prefix}-single`, snapshot: 'docker-mcp-t1' });
    expect(result?.bytes).toBeGreaterThan(300_000);
    expect(events.some((e) => e.type === 'transfer-progress' && e.bytesDone === result?.bytes && e.bytesTotal !== null)).toBe(true);
    const target = await new ZfsHost(endpoints.beta.transport).dataset(`beta/appdata/${prefix}-single`);
    expect(target).toMatchObject({ mounted: true, mountpoint: appdata('beta', 'single'), managed: true });
    await expectSameTree('alpha', appdata('alpha', 'single'), 'beta', appdata('beta', 'single'));
  });

  it('a second transfer after a small change is incremental and moves about the changed bytes', async () => {
    const path = appdata('alpha', 'single');
    await sh('alpha', 'head -c 4000000 /dev/urandom > "$1/big-unchanged.bin"', path);
    const events: ProgressEvent[] = [];
    const base = await transferServices({
      source: endpoints.alpha,
      target: endpoints.beta,
      services: [{ service: 'single', sourcePath: path, targetPath: appdata('beta', 'single') }],
      snapshotTag: 't2',
      onProgress: (event) => events.push(event),
    });
    expect(base.results[0]?.error).toBeNull();
    // alpha can log in to beta by itself on the testbed, so "auto" sends directly.
    expect(base.results[0]).toMatchObject({ ok: true, mode: 'incremental', route: 'direct' });
    const lastProgress = events.filter((e) => e.type === 'transfer-progress').at(-1);
    expect(lastProgress?.type === 'transfer-progress' && lastProgress.bytesDone).toBe(base.results[0]?.bytes);
    expect(base.results[0]?.bytes).toBeGreaterThan(4_000_000);

    await sh('alpha', 'head -c 100000 /dev/urandom > "$1/small-change.bin"', path);
    const next = await transferServices({
      source: endpoints.alpha,
      target: endpoints.beta,
      services: [{ service: 'single', sourcePath: path, targetPath: appdata('beta', 'single') }],
      snapshotTag: 't3',
    });
    expect(next.results[0]).toMatchObject({ ok: true, mode: 'incremental' });
    expect(next.results[0]?.bytes).toBeGreaterThan(100_000);
    expect(next.results[0]?.bytes).toBeLessThan(1_000_000);
    await expectSameTree('alpha', path, 'beta', appdata('beta', 'single'));

    // Older snapshots of ours are pruned; the newest common one stays on both sides.
    const sourceSnapshots = (await new ZfsHost(endpoints.alpha.transport).snapshots(`alpha/appdata/${prefix}-single`)).map((s) => s.name);
    const targetSnapshots = (await new ZfsHost(endpoints.beta.transport).snapshots(`beta/appdata/${prefix}-single`)).map((s) => s.name);
    expect(sourceSnapshots).toEqual(['docker-mcp-t3']);
    expect(targetSnapshots).toEqual(['docker-mcp-t3']);
  });

  it('moves an authelia-shaped stack as three datasets, converting the service that is still a plain directory', async () => {
    const zfs = new ZfsHost(endpoints.alpha.transport);
    await zfs.createDataset(`alpha/appdata/${prefix}-authelia`);
    await zfs.createDataset(`alpha/appdata/${prefix}-authelia-mariadb`);
    await sh('alpha', 'printf "jwt: x\\n" > "$1/configuration.yml"; head -c 2000000 /dev/urandom > "$2/ibdata1"; mkdir -p "$3" && head -c 500000 /dev/urandom > "$3/dump.rdb" && echo . > "$3/.hidden"',
      appdata('alpha', 'authelia'), appdata('alpha', 'authelia-mariadb'), appdata('alpha', 'authelia-redis'));
    const services = ['authelia', 'authelia-mariadb', 'authelia-redis'].map((service) => ({
      service,
      sourcePath: appdata('alpha', service),
      targetPath: appdata('beta', service),
    }));
    const summary = await transferServices({ source: endpoints.alpha, target: endpoints.beta, services, snapshotTag: 'stack1' });
    expect(summary.results.map((r) => r.error)).toEqual([null, null, null]);
    expect(summary).toMatchObject({ services_transferred: 3, total_services: 3 });
    expect(summary.results.map((r) => [r.service, r.sourcePreparation, r.targetDataset])).toEqual([
      ['authelia', 'existing', `beta/appdata/${prefix}-authelia`],
      ['authelia-mariadb', 'existing', `beta/appdata/${prefix}-authelia-mariadb`],
      ['authelia-redis', 'converted', `beta/appdata/${prefix}-authelia-redis`],
    ]);
    for (const service of services) await expectSameTree('alpha', service.sourcePath, 'beta', service.targetPath);
    // Each service is its own dataset on the target; the parent was not sent as a whole.
    const betaDatasets = (await endpoints.beta.transport.exec(command(['zfs', 'list', '-H', '-o', 'name', '-r', 'beta/appdata']))).stdout;
    for (const service of services) expect(betaDatasets).toContain(`beta/appdata/${prefix}-${service.service}\n`);
  });

  it('refuses to overwrite a target dataset it did not create, and still moves the other services', async () => {
    await sh('beta', 'zfs create "$1" && echo precious > "$2/keep"', `beta/appdata/${prefix}-foreign`, appdata('beta', 'foreign'));
    await new ZfsHost(endpoints.alpha.transport).createDataset(`alpha/appdata/${prefix}-foreign`);
    await new ZfsHost(endpoints.alpha.transport).createDataset(`alpha/appdata/${prefix}-fine`);
    await sh('alpha', 'echo new > "$1/data"; echo fine > "$2/data"', appdata('alpha', 'foreign'), appdata('alpha', 'fine'));
    const summary = await transferServices({
      source: endpoints.alpha,
      target: endpoints.beta,
      services: ['foreign', 'fine'].map((service) => ({ service, sourcePath: appdata('alpha', service), targetPath: appdata('beta', service) })),
      snapshotTag: 'refuse',
    });
    expect(summary).toMatchObject({ services_transferred: 1, total_services: 2 });
    expect(summary.results[0]?.error?.message).toMatch(/refusing to overwrite/);
    expect(summary.results[1]).toMatchObject({ ok: true, mode: 'full' });
    expect((await sh('beta', 'cat "$1/keep"', appdata('beta', 'foreign'))).stdout).toBe('precious\n');
  });
});

describe('dataset properties on the way (zfs-fuse to zfs-fuse)', () => {
  it('carries what users set on the data, never sharing, reservations, quotas, snapdir or exec policy', async () => {
    const source = `alpha/appdata/${prefix}-c-props`;
    const carried = { compression: 'gzip', atime: 'off', 'com.example:tier': 'gold' };
    // zfs-fuse sets sharenfs but exits 1 when it cannot export it: the property is set all the same.
    await sh(
      'alpha',
      'set -e; zfs create -o compression=gzip -o atime=off -o com.example:tier=gold -o reservation=1M -o quota=200M -o refquota=200M -o snapdir=visible -o exec=off "$1"; zfs set sharenfs=rw=@0.0.0.0/0,no_root_squash "$1" 2>/dev/null || true; echo data > "$2/file"',
      source,
      appdata('alpha', 'c-props'),
    );
    const hostile = ['sharenfs', 'reservation', 'quota', 'refquota', 'snapdir', 'exec'];
    const onSource = (await sh('alpha', 'zfs get -H -o property,source "$1" "$2"', hostile.join(','), source)).stdout;
    expect(onSource.trim().split('\n')).toEqual(hostile.map((property) => `${property}\tlocal`));
    const summary = await transferServices({
      source: endpoints.alpha,
      target: endpoints.beta,
      services: [{ service: 'c-props', sourcePath: appdata('alpha', 'c-props'), targetPath: appdata('beta', 'c-props') }],
      snapshotTag: 'props',
    });
    expect(summary.results[0]).toMatchObject({ ok: true, method: 'zfs', propertiesNotSet: [] });
    const target = `beta/appdata/${prefix}-c-props`;
    const onTarget = (names: string[]) => sh('beta', 'zfs get -H -p -o property,value,source "$1" "$2"', names.join(','), target).then((r) => r.stdout.trim().split('\n'));
    expect(await onTarget(Object.keys(carried))).toEqual(Object.entries(carried).map(([property, value]) => `${property}\t${value}\tlocal`));
    for (const line of await onTarget(hostile)) expect(line).not.toMatch(/\tlocal$/);
    expect((summary.results[0]?.propertiesSet ?? []).map((p) => p.split('=')[0]).sort()).toEqual(Object.keys(carried).sort());
  });
});

describe('transferServices with zstd on the wire (forced: the testbed is all loopback, where auto leaves it off)', () => {
  it('moves a dataset compressed, relayed and then directly, with the same data on both sides', async () => {
    await new ZfsHost(endpoints.alpha.transport).createDataset(`alpha/appdata/${prefix}-zstd`);
    const path = appdata('alpha', 'zstd');
    await buildFixtureTree(endpoints.alpha.transport, path);
    const service = { service: 'zstd', sourcePath: path, targetPath: appdata('beta', 'zstd') };
    const auto = { source: endpoints.alpha, target: endpoints.beta, services: [service] };
    const relayed = await transferServices({ ...auto, snapshotTag: 'z1', route: 'relay', compress: 'on' });
    expect(relayed.results[0]).toMatchObject({ ok: true, mode: 'full', route: 'relay', compressed: true });
    await sh('alpha', 'head -c 500000 /dev/zero > "$1/zeros"', path);
    const direct = await transferServices({ ...auto, snapshotTag: 'z2', route: 'direct', compress: 'on' });
    expect(direct.results[0]).toMatchObject({ ok: true, mode: 'incremental', route: 'direct', compressed: true });
    await expectSameTree('alpha', path, 'beta', appdata('beta', 'zstd'));
    const plain = await transferServices({ ...auto, snapshotTag: 'z3' });
    expect(plain.results[0]).toMatchObject({ ok: true, compressed: false });
  });
});

describe('transferServices to a host without ZFS', () => {
  it('falls back to rsync from alpha to gamma, keeping every kind of file', async () => {
    const sourcePath = appdata('alpha', 'single');
    const summary = await transferServices({
      source: endpoints.alpha,
      target: endpoints.gamma,
      services: [{ service: 'single', sourcePath, targetPath: appdata('gamma', 'single') }],
    });
    expect(summary.results[0]).toMatchObject({ ok: true, method: 'rsync', mode: 'copy' });
    expect(summary.results[0]?.bytes).toBeGreaterThan(4_000_000);
    await expectSameTree('alpha', sourcePath, 'gamma', appdata('gamma', 'single'));
  });
});
