/**
 * Converting a plain directory into a dataset on real OpenZFS (the guest
 * delta): the verified copy is never lost, another filesystem mounted inside
 * is never copied or deleted into, and a pool without room for a second copy
 * is refused before anything changes. Data is small: the guest is emulated.
 * An interrupted conversion (resumed, or rolled back) on alpha, which has
 * the test image: nothing there depends on the ZFS implementation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackSourceOf } from '../fixtures/stack-source.js';
import type { HostConfig } from '../../src/config/schema.js';
import { listContainers } from '../../src/docker/containers.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { deployStack, stackAction } from '../../src/docker/stacks.js';
import { migrateStack } from '../../src/migration/execute.js';
import type { JournalEntry } from '../../src/migration/journal.js';
import { planMigration } from '../../src/migration/plan.js';
import { rollBack } from '../../src/migration/rollback.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { compareManifests, readManifest } from '../../src/transfer/manifest.js';
import { pathKind } from '../../src/zfs/path-kind.js';
import { ensureServiceDataset } from '../../src/zfs/service-dataset.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { buildFixtureTree } from './fixture-tree.js';
import { testbedHost } from './testbed.js';

const TIMEOUT_MS = 600_000;
const prefix = `h11a-c${process.pid}`;
const pathOf = (name: string) => `/srv/appdata/${prefix}-${name}`;
const datasetOf = (name: string) => `tank/appdata/${prefix}-${name}`;
let delta: HostConfig;
let transport: SshTransport;
let zfs: ZfsHost;
const sh = (script: string, ...args: string[]) => transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 300_000 });

const onAlpha = {} as { alpha: DockerHost; beta: DockerHost; zfs: ZfsHost };
const alphaPathOf = (name: string) => `/srv/alpha/appdata/${prefix}-${name}`;
const alphaDatasetOf = (name: string) => `alpha/appdata/${prefix}-${name}`;
const alphaSh = (script: string, ...args: string[]) => onAlpha.alpha.transport.exec(command(['sh', '-c', script, 'sh', ...args]));

beforeAll(async () => {
  delta = await testbedHost('delta');
  transport = new SshTransport(delta);
  zfs = new ZfsHost(transport);
  for (const id of ['alpha', 'beta'] as const) {
    const host = await testbedHost(id);
    onAlpha[id] = { host, transport: new SshTransport(host) };
  }
  onAlpha.zfs = new ZfsHost(onAlpha.alpha.transport);
});

afterAll(async () => {
  // Whatever a failed test left: immutable flags, mounts, then datasets and directories.
  await sh(
    'for d in /srv/appdata/"$1"-*; do [ -e "$d" ] || continue; chattr -R -i "$d" 2>/dev/null; grep -o " $d[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount 2>/dev/null; done; ' +
      'zfs list -H -o name -r tank/appdata | grep "^tank/appdata/$1-" | sort -r | xargs -r -n1 zfs destroy -r; rm -rf /srv/appdata/"$1"-*; true',
    prefix,
  );
  await transport.close();
  await alphaSh('docker ps -aq --filter "name=^$1" | xargs -r docker rm -f >/dev/null; true', prefix);
  // zfs-fuse calls a dataset busy for a moment after its container went: destroyDataset retries.
  const listed = await onAlpha.alpha.transport.exec(command(['zfs', 'list', '-H', '-o', 'name', '-r', 'alpha/appdata']));
  for (const name of listed.stdout.split('\n').filter((n) => n.startsWith(`alpha/appdata/${prefix}-`)).sort().reverse()) await onAlpha.zfs.destroyDataset(name);
  await alphaSh('rm -rf /srv/alpha/appdata/"$1"-* /srv/alpha/compose/"$1"-*; true', prefix);
  for (const host of [onAlpha.alpha, onAlpha.beta]) await host.transport.close();
}, TIMEOUT_MS);

describe('converting a directory into a dataset on OpenZFS', () => {
  it('keeps the verified dataset when the original cannot be removed, leaving that original only under a name that says it is verified', async () => {
    const path = pathOf('immutable');
    await sh('mkdir -p "$1/sub" && echo data > "$1/file" && echo locked > "$1/sub/locked" && chattr +i "$1/sub/locked"', path);
    const before = await readManifest(transport, path);

    const result = await ensureServiceDataset(zfs, delta, path);
    expect(result.action).toBe('converted');
    expect(result.leftover).toMatch(new RegExp(`${path}\\.docker-mcp-verified .*could not be removed`));
    expect(await zfs.dataset(datasetOf('immutable'))).toMatchObject({ mounted: true, mountpoint: path, managed: true });
    expect(compareManifests(before, await readManifest(transport, path), { ignoreRootMtime: true })).toEqual([]);
    expect(await pathKind(transport, `${path}.docker-mcp-converting`)).toBe('missing');

    // A re-run uses the dataset as it is (no copy over it) and tries the clean-up again.
    expect(await ensureServiceDataset(zfs, delta, path)).toMatchObject({ action: 'existing', leftover: expect.stringContaining('could not be removed') });
    await sh('chattr -i "$1.docker-mcp-verified/sub/locked"', path);
    expect((await ensureServiceDataset(zfs, delta, path)).leftover).toBeUndefined();
    expect(await pathKind(transport, `${path}.docker-mcp-verified`)).toBe('missing');
    expect(compareManifests(before, await readManifest(transport, path), { ignoreRootMtime: true })).toEqual([]);
  }, TIMEOUT_MS);

  it('refuses a directory with another filesystem mounted inside, naming the mount, and touches neither', async () => {
    const path = pathOf('mounts');
    await sh('mkdir -p "$1/cache" && echo mine > "$1/file" && mount -t tmpfs -o size=1m tmpfs "$1/cache" && echo canary > "$1/cache/canary"', path);
    try {
      const error = await ensureServiceDataset(zfs, delta, path).catch((e: unknown) => e);
      expect((error as Error).name).toBe('MountsInsideError');
      expect((error as Error).message).toContain(`${path}/cache`);
      expect((await sh('cat "$1/cache/canary" "$1/file"', path)).stdout).toBe('canary\nmine\n');
      expect(await zfs.dataset(datasetOf('mounts'))).toBeNull();
      expect(await pathKind(transport, `${path}.docker-mcp-converting`)).toBe('missing');
    } finally {
      await sh('umount "$1/cache" 2>/dev/null || umount "$1.docker-mcp-converting/cache"', path);
    }
  }, TIMEOUT_MS);

  it('refuses, before changing anything, a conversion whose parent dataset has no room for a second copy, counting allocated blocks', async () => {
    const outer = datasetOf('full');
    await transport.exec(command(['zfs', 'create', outer]));
    const path = `${pathOf('full')}/svc`;
    // The quota comes after the write: OpenZFS throttles writes close to a quota to a crawl.
    // A sparse image of 1 GiB holds next to nothing: the space needed is the 20 MB of data, plus headroom.
    await sh('mkdir -p "$1" && head -c 20000000 /dev/urandom > "$1/big" && truncate -s 1G "$1/disk.img" && sync && zfs set quota=30M "$2"', path, outer);
    const before = await readManifest(transport, path, { hashes: false });
    const error = await ensureServiceDataset(zfs, delta, path).catch((e: unknown) => e);
    expect((error as Error).name).toBe('InsufficientSpaceError');
    const [, needed, available] = new RegExp(`converting ${path} into ${outer}/svc needs (\\d+) bytes free .* ${outer} has (\\d+) available`).exec((error as Error).message) ?? [];
    expect(Number(needed)).toBeGreaterThan(19_000_000 + 64 * 1024 * 1024);
    expect(Number(needed)).toBeLessThan(20_000_000 * 1.1 + 64 * 1024 * 1024 + 2_000_000);
    expect(Number(available)).toBeLessThan(20_000_000);
    expect(await zfs.dataset(`${outer}/svc`)).toBeNull();
    expect(await pathKind(transport, `${path}.docker-mcp-converting`)).toBe('missing');
    expect(compareManifests(before, await readManifest(transport, path, { hashes: false }))).toEqual([]);
  }, TIMEOUT_MS);
});

describe('an interrupted conversion', () => {
  it('a migration whose plain-directory data path has a mount inside is refused at pre-flight, while the stack still runs', async () => {
    const stack = `${prefix}-premount`;
    const path = alphaPathOf('premount');
    await alphaSh('mkdir -p "$1/cache" && echo mine > "$1/file" && mount -t tmpfs -o size=1m tmpfs "$1/cache"', path);
    try {
      await deployStack(onAlpha.alpha, stack, `services:\n  app:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n    init: true\n    volumes:\n      - ${path}:/data\n`);
      const startedAt = (await onAlpha.alpha.transport.exec(command(['docker', 'inspect', '-f', '{{.State.StartedAt}}', `${stack}_app_1`]), { okExitCodes: [0, 1] })).stdout.trim();
      await expect(migrateStack(onAlpha.alpha, onAlpha.beta, stack, { journalDir: `/tmp/${prefix}-journal` })).rejects.toThrow(new RegExp(`refused \\(nothing was changed\\).*${path}/cache`, 's'));
      // Never stopped: the same container, started once.
      const running = (await listContainers(onAlpha.alpha)).filter((c) => c.stack === stack && c.state === 'running');
      expect(running).toHaveLength(1);
      const stillStartedAt = (await onAlpha.alpha.transport.exec(command(['docker', 'inspect', '-f', '{{.State.StartedAt}}', `${stack}_app_1`]), { okExitCodes: [0, 1] })).stdout.trim();
      expect(stillStartedAt).toBe(startedAt);
      expect(await onAlpha.zfs.dataset(alphaDatasetOf('premount'))).toBeNull();
      expect((await listContainers(onAlpha.beta)).filter((c) => c.stack === stack)).toHaveLength(0);
    } finally {
      await stackAction(onAlpha.alpha, stack, 'down').catch(() => undefined);
      await alphaSh('umount "$1/cache" 2>/dev/null; rm -rf /tmp/"$2"-journal; true', path, prefix);
    }
  }, TIMEOUT_MS);

  it('refuses to resume while a running container uses the path, as a first run does', async () => {
    const path = alphaPathOf('resumed');
    const aside = `${path}.docker-mcp-converting`;
    await alphaSh('mkdir -p "$1" && echo original > "$1/file"', aside);
    await onAlpha.alpha.transport.exec(command(['zfs', 'create', '-o', 'docker-mcp:managed=yes', alphaDatasetOf('resumed')]));
    const name = `${prefix}-resumed`;
    await onAlpha.alpha.transport.exec(command(['docker', 'run', '-d', '--name', name, '--network', 'none', '-v', `${path}:/data`, 'local/busybox:test', 'sleep', '600']));
    try {
      const error = await ensureServiceDataset(onAlpha.zfs, onAlpha.alpha.host, path).catch((e: unknown) => e);
      expect((error as Error).name).toBe('ServicePathInUseError');
      expect((error as Error).message).toContain(name);
      expect((await alphaSh('cat "$1/file"', aside)).stdout).toBe('original\n');
      expect(await onAlpha.zfs.dataset(alphaDatasetOf('resumed'))).toMatchObject({ mounted: true, mountpoint: path });
    } finally {
      await onAlpha.alpha.transport.exec(command(['docker', 'rm', '-f', name]));
    }
  });

  it('is put back as the plain directory by a rollback before the stack starts on the source, never on a half-copied dataset', async () => {
    const { alpha, beta } = onAlpha;
    const stack = `${prefix}-rb`;
    const path = alphaPathOf('rb');
    const aside = `${path}.docker-mcp-converting`;
    const compose = `services:\n  app:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n    init: true\n    volumes:\n      - ${path}:/data\n`;
    await buildFixtureTree(alpha.transport, path);
    const before = await readManifest(alpha.transport, path);
    await deployStack(alpha, stack, compose, { start: false });
    // Interrupted during the final sync: the original aside, a dataset holding part of the copy.
    await alpha.transport.exec(command(['mv', '-T', path, aside]));
    await alpha.transport.exec(command(['zfs', 'create', '-o', 'docker-mcp:managed=yes', alphaDatasetOf('rb')]));
    await alphaSh('cp -a "$1/config" "$2/"', aside, path);
    const plan = planMigration({ id: `${stack}-1`, stack, source: alpha.host, target: beta.host, stackSource: stackSourceOf(`/srv/alpha/compose/${stack}`, stack, { app: { binds: [`${path}:/data`] } }) });
    const at = new Date().toISOString();
    const entry: JournalEntry = {
      id: plan.id, stack, source: 'alpha', target: 'beta', pid: process.pid, createdAt: at, status: 'running', detail: null, plan, targetBefore: [],
      phases: ['preflight', 'stop', 'final-sync'].map((phase) => ({ phase, state: 'started' as const, at, detail: null })),
    };
    try {
      const done = await rollBack(entry, alpha, beta, false);
      expect(done.join('\n')).toMatch(new RegExp(`put alpha:${path} back as the plain directory`));
      expect(await onAlpha.zfs.dataset(alphaDatasetOf('rb'))).toBeNull();
      expect(await pathKind(alpha.transport, aside)).toBe('missing');
      expect(compareManifests(before, await readManifest(alpha.transport, path))).toEqual([]);
      expect((await listContainers(alpha)).filter((c) => c.stack === stack && c.state === 'running')).toHaveLength(1);
    } finally {
      await stackAction(alpha, stack, 'down');
    }
  });
});
