/**
 * Migrations proven on real OpenZFS 2.3 in the kernel and compose v2: the
 * QEMU guests delta (root, appdata inherited from the pool at /srv) and
 * epsilon (a non-root login with sudo and dash as its shell, appdata at
 * /mnt/appdata), beside the zfs-fuse host alpha and the rsync host gamma.
 * Data is small: the guests run in software emulation.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { listContainers } from '../../src/docker/containers.js';
import { deployStack } from '../../src/docker/stacks.js';
import { discoverHost } from '../../src/host/capabilities.js';
import type { MigrationReport } from '../../src/migration/execute.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { compareManifests, readManifest } from '../../src/transfer/manifest.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { runCli } from './cli.js';
import { testbedHost } from './testbed.js';

type Id = 'alpha' | 'beta' | 'gamma' | 'delta' | 'epsilon';
const IDS: readonly Id[] = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
const hosts = {} as Record<Id, DockerHost>;
const prefix = `oz${process.pid}`;
const APPDATA: Record<Id, string> = { alpha: '/srv/alpha/appdata', beta: '/srv/beta/appdata', gamma: '/srv/gamma/appdata', delta: '/srv/appdata', epsilon: '/mnt/appdata' };
const COMPOSE: Record<Id, string> = { alpha: '/srv/alpha/compose', beta: '/srv/beta/compose', gamma: '/srv/gamma/compose', delta: '/srv/compose', epsilon: '/opt/stacks' };
const DATASET: Record<'alpha' | 'delta' | 'epsilon', string> = { alpha: 'alpha/appdata', delta: 'tank/appdata', epsilon: 'tank/appdata' };
/** The properties users care about, compared on both sides of a move. */
const USER_PROPERTIES = ['recordsize', 'compression', 'atime', 'xattr', 'acltype', 'org.example:backup'];
const MIGRATE_TIMEOUT_MS = 600_000;
/** Guests run in software emulation: a migration takes a minute or two there. */
const GUEST_TEST_TIMEOUT_MS = 900_000;

let stateDir: string;
const sh = (id: Id, script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 120_000 });
const cli = (args: readonly string[], config = testbedHostsFile()) =>
  runCli(args, { DOCKER_MCP_STATE_DIR: stateDir, DOCKER_MCP_CONFIG: config }, undefined, MIGRATE_TIMEOUT_MS);

async function migrate(source: Id, target: Id, stack: string, config?: string): Promise<MigrationReport> {
  const run = await cli(['migrate', source, target, stack, '--json'], config);
  if (run.exitCode !== 0) throw new Error(`migrate ${source} ${target} ${stack} failed (${run.exitCode}): ${run.stderr}`);
  return JSON.parse(run.stdout) as MigrationReport;
}

async function running(stack: string, ids: readonly Id[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const id of ids) counts[id] = (await listContainers(hosts[id])).filter((c) => c.stack === stack && c.state === 'running').length;
  return counts;
}

async function properties(id: 'alpha' | 'delta' | 'epsilon', dataset: string, names = USER_PROPERTIES): Promise<Record<string, string>> {
  const result = await hosts[id].transport.exec(command(['zfs', 'get', '-H', '-p', '-o', 'property,value', names.join(','), dataset]));
  return Object.fromEntries(result.stdout.trim().split('\n').map((line) => line.split('\t') as [string, string]));
}

async function guid(id: 'delta' | 'epsilon', dataset: string): Promise<string> {
  return (await hosts[id].transport.exec(command(['zfs', 'get', '-H', '-p', '-o', 'value', 'guid', dataset]))).stdout.trim();
}

/**
 * The snapshot's directory, automounted by one process before any other
 * looks: OpenZFS 2.3.9 panics (VERIFY in avl_add from zfsctl_snapshot_mount)
 * when two processes automount the same snapshot at once.
 */
async function mountedSnapshotDir(id: Id, mountpoint: string, snapshot: string): Promise<string> {
  const dir = `${mountpoint}/.zfs/snapshot/${snapshot}`;
  await hosts[id].transport.exec(command(['ls', '-d', `${dir}/.`]));
  return dir;
}

/** The same snapshot on both hosts holds the same tree: types, modes, owners, times, xattrs, ACLs, content. */
async function expectSameSnapshot(source: Id, sourcePath: string, target: Id, targetPath: string, snapshot: string): Promise<void> {
  const [sourceDir, targetDir] = await Promise.all([mountedSnapshotDir(source, sourcePath, snapshot), mountedSnapshotDir(target, targetPath, snapshot)]);
  const [before, after] = await Promise.all([
    readManifest(hosts[source].transport, sourceDir, { hashes: true }),
    readManifest(hosts[target].transport, targetDir, { hashes: true }),
  ]);
  expect(before.entries.size).toBeGreaterThan(0);
  expect(before.xattrsChecked && after.xattrsChecked).toBe(true);
  expect(compareManifests(before, after, { ignoreRootMtime: false })).toEqual([]);
}

async function cleanUp(): Promise<void> {
  await Promise.all(IDS.map((id) => cleanUpHost(id)));
}

async function cleanUpHost(id: Id): Promise<void> {
  await sh(id, 'docker ps -aq --filter "name=^$1" | xargs -r docker rm -f >/dev/null; true', prefix);
  if (id === 'alpha' || id === 'delta' || id === 'epsilon') {
    const listed = await hosts[id].transport.exec(command(['zfs', 'list', '-H', '-o', 'name', '-r', DATASET[id]]));
    const ours = listed.stdout.split('\n').filter((name) => name.startsWith(`${DATASET[id]}/${prefix}`)).sort().reverse();
    // destroyDataset releases docker-mcp's holds first.
    for (const dataset of ours) await new ZfsHost(hosts[id].transport).destroyDataset(dataset);
  }
  await sh(id, 'rm -rf "$1"/"$3"* "$2"/"$3"*', APPDATA[id], COMPOSE[id], prefix);
}

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'oz-journal-'));
  for (const id of IDS) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  await cleanUp();
}, 300_000);

afterAll(async () => {
  await cleanUp();
  for (const host of Object.values(hosts)) await host.transport.close();
  await rm(stateDir, { recursive: true, force: true });
}, 300_000);

describe('hosts discover on a mixed fleet', () => {
  it('reports OpenZFS 2.3 with its send features and compose v2 on the guests, compose v2 on beta, v1 on alpha', async () => {
    const [delta, epsilon, beta, alpha] = await Promise.all(
      (['delta', 'epsilon', 'beta', 'alpha'] as const).map((id) => discoverHost(hosts[id].transport, hosts[id].host)),
    );
    for (const guest of [delta!, epsilon!]) {
      expect(guest.zfs.version).toMatch(/^zfs-2\.3\./);
      expect(guest.zfs.features).toMatchObject({ resumeTokens: true, sizeEstimate: true, largeBlocks: true, compressedSend: true, embeddedData: true, receiveRefreshesMount: true });
      expect(guest.zfs.appdataDataset).toBe('tank/appdata');
      expect(guest.compose?.flavour).toBe('v2');
      expect(guest.rsync).not.toBeNull();
    }
    expect(beta!.compose?.flavour).toBe('v2');
    expect(alpha!.compose?.flavour).toBe('v1');
    expect(alpha!.zfs.version).toBeNull();
  }, GUEST_TEST_TIMEOUT_MS);

  it('gives each guest its own host key and machine id, and names that reach the peer from inside a guest', async () => {
    const identity = async (id: 'delta' | 'epsilon') =>
      (await sh(id, 'cat /etc/machine-id; ssh-keygen -l -f /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2')).stdout.trim().split('\n');
    const [delta, epsilon] = await Promise.all([identity('delta'), identity('epsilon')]);
    expect(delta).toHaveLength(2);
    expect(delta[0]).not.toBe(epsilon[0]);
    expect(delta[1]).not.toBe(epsilon[1]);
    // From delta, epsilon.vm is the peer forward; 127.0.0.22 is delta's own loopback.
    const seen = await sh('delta', 'getent hosts epsilon.vm | cut -d" " -f1; ssh-keyscan -t ed25519 epsilon.vm 2>/dev/null | ssh-keygen -l -f - | cut -d" " -f2');
    expect(seen.stdout).toContain('10.0.2.100');
    expect(seen.stdout).toContain(epsilon[1]);
  }, GUEST_TEST_TIMEOUT_MS);

  it('logs in to epsilon as a non-root user and runs commands as root through sudo', async () => {
    const run = await cli(['hosts', 'test', 'epsilon', '--json']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('logged in as deploy, commands run as root through sudo');
    const shell = await hosts.epsilon.transport.exec(command(['getent', 'passwd', 'deploy']));
    expect(shell.stdout.trim().split(':').pop()).toBe('/bin/sh');
  }, GUEST_TEST_TIMEOUT_MS);
});

describe('an authelia-shaped stack delta → epsilon → delta on OpenZFS', () => {
  const stack = `${prefix}-auth`;
  const dataPath = (id: Id, service: string) => `${APPDATA[id]}/${stack}-${service}`;
  const services = ['authelia', 'authelia-mariadb', 'authelia-redis'];
  const guids: Record<string, string> = {};
  let there: MigrationReport;

  function composeFile(id: Id): string {
    const service = (name: string, mountedAt: string, cmd: string) => `  ${name}:
    image: local/busybox:test
    command: ${cmd}
    network_mode: none
    init: true
    volumes:
      - ${dataPath(id, name)}:${mountedAt}
`;
    return `services:\n${service('authelia', '/config', '["sh", "-c", "while true; do date >> /config/heartbeat.log; sleep 1; done"]')}${service('authelia-mariadb', '/var/lib/mysql', '["sleep", "3600"]')}${service('authelia-redis', '/data', '["sleep", "3600"]')}`;
  }

  beforeAll(async () => {
    // authelia: a dataset with 1 MiB records, a user property and files over 128 KiB;
    // mariadb: a plain directory with an xattr and a POSIX ACL (converted on the way);
    // redis: a plain directory with a dotfile.
    await sh(
      'delta',
      [
        'set -e',
        'zfs create -o recordsize=1M -o org.example:backup=daily "$1"',
        'head -c 3000000 /dev/urandom > "$2/big.bin"; head -c 400000 /dev/urandom > "$2/medium.bin"; echo "jwt: secret" > "$2/configuration.yml"',
        'mkdir -p "$3" && head -c 500000 /dev/urandom > "$3/ibdata1" && chown 999:999 "$3/ibdata1" && chmod 640 "$3/ibdata1"',
        'setfattr -n user.origin -v delta "$3/ibdata1" && setfacl -m u:1234:rwx "$3" && setfacl -d -m g:2345:rx "$3"',
        'mkdir -p "$4" && echo appendonly > "$4/.redis.conf"',
      ].join('\n'),
      `${DATASET.delta}/${stack}-authelia`,
      dataPath('delta', 'authelia'),
      dataPath('delta', 'authelia-mariadb'),
      dataPath('delta', 'authelia-redis'),
    );
    await deployStack(hosts.delta, stack, composeFile('delta'));
  }, 300_000);

  it('moves to epsilon over the direct route: seeded while authelia writes, directories converted, verified, running only on epsilon', async () => {
    there = await migrate('delta', 'epsilon', stack);
    expect(there.mode).toBe('low-downtime');
    expect(there.seed?.results.find((r) => r.service.endsWith('-authelia'))).toMatchObject({ ok: true, mode: 'full', route: 'direct' });
    expect(there.final.services_transferred).toBe(3);
    expect(there.final.results.find((r) => r.service.endsWith('-authelia'))).toMatchObject({ mode: 'incremental', route: 'direct' });
    expect(there.final.results.find((r) => r.service.endsWith('mariadb'))).toMatchObject({ mode: 'full', sourcePreparation: 'converted' });
    expect(there.final.relayReason ?? null).toBeNull();
    expect(there.verified).toHaveLength(3);
    // The stack folder went over while the stack ran; the outage held only the stop, the last sends, the checks and the start.
    // (images only when epsilon lacks one)
    expect(there.phases.map((p) => p.phase).filter((p) => p !== 'images')).toEqual(['preflight', 'seed', 'stack-folder', 'stop', 'final-sync', 'verify', 'folder-sync', 'start']);
    expect(there.phases.filter((p) => p.inDowntime).map((p) => p.phase)).toEqual(['stop', 'final-sync', 'verify', 'folder-sync', 'start']);
    expect(await running(stack, ['delta', 'epsilon'])).toEqual({ delta: 0, epsilon: 3 });
    // The copy left on delta may not drift before a move back.
    expect([...there.leftReadonly].sort()).toEqual(services.map((service) => `delta:tank/appdata/${stack}-${service}`).sort());
    for (const service of services) expect(await properties('delta', `tank/appdata/${stack}-${service}`, ['readonly'])).toEqual({ readonly: 'on' });
    expect((await hosts.epsilon.transport.exec(command(['cat', `${COMPOSE.epsilon}/${stack}/docker-compose.yml`]))).stdout).toContain(`${dataPath('epsilon', 'authelia')}:/config`);
  }, GUEST_TEST_TIMEOUT_MS);

  it('arrives equal by manifest (xattrs and ACLs included) with the properties users set, 1 MiB records kept', async () => {
    const snapshot = `docker-mcp-${there.id}`;
    for (const service of services) {
      await expectSameSnapshot('delta', dataPath('delta', service), 'epsilon', dataPath('epsilon', service), snapshot);
      const dataset = `tank/appdata/${stack}-${service}`;
      expect(await properties('epsilon', dataset)).toEqual(await properties('delta', dataset));
      guids[service] = await guid('delta', dataset);
    }
    expect((await properties('epsilon', `tank/appdata/${stack}-authelia`))).toMatchObject({ recordsize: '1048576', 'org.example:backup': 'daily' });
    const acl = await sh('epsilon', 'getfacl -p "$1"; getfattr -n user.origin --only-values "$1/ibdata1"', dataPath('epsilon', 'authelia-mariadb'));
    expect(acl.stdout).toContain('user:1234:rwx');
    expect(acl.stdout).toContain('default:group:2345:r-x');
    expect(acl.stdout).toContain('delta');
  }, GUEST_TEST_TIMEOUT_MS);

  it('moves back to delta after its stale copy was read (atime on): incremental into the same datasets, writable again there, relayed when hosts are named by address', async () => {
    // Reading a copy left behind would update atimes (OpenZFS then calls it modified since the snapshot); it is readonly.
    await sh('delta', 'cat "$1"/* "$2"/* > /dev/null; ls -la "$3" > /dev/null', dataPath('delta', 'authelia'), dataPath('delta', 'authelia-mariadb'), dataPath('delta', 'authelia-redis'));
    // By address, delta's 127.0.0.22 is its own loopback: the direct check must fail and the relay take over.
    const byAddress = path.join(stateDir, 'hosts-by-address.yml');
    writeFileSync(byAddress, readFileSync(testbedHostsFile(), 'utf8').replace('hostname: delta.vm', 'hostname: 127.0.0.21').replace('hostname: epsilon.vm', 'hostname: 127.0.0.22'));
    const back = await migrate('epsilon', 'delta', stack, byAddress);
    expect(back.final.services_transferred).toBe(3);
    for (const result of [...(back.seed?.results ?? []), ...back.final.results]) {
      expect(result).toMatchObject({ ok: true, mode: 'incremental', route: 'relay' });
    }
    expect(back.final.relayReason).toMatch(/epsilon cannot log in to delta by itself .*Host key/i);
    expect(await running(stack, ['delta', 'epsilon'])).toEqual({ delta: 3, epsilon: 0 });
    const snapshot = `docker-mcp-${back.id}`;
    for (const service of services) {
      const dataset = `tank/appdata/${stack}-${service}`;
      expect(await guid('delta', dataset)).toBe(guids[service]);
      await expectSameSnapshot('epsilon', dataPath('epsilon', service), 'delta', dataPath('delta', service), snapshot);
      expect(await properties('delta', dataset)).toEqual(await properties('epsilon', dataset));
      expect(await properties('delta', dataset, ['readonly'])).toEqual({ readonly: 'off' });
      expect(await properties('epsilon', dataset, ['readonly'])).toEqual({ readonly: 'on' });
    }
  }, GUEST_TEST_TIMEOUT_MS);
});

describe('across kinds of host', () => {
  it('moves a stack from alpha (zfs-fuse) to delta (OpenZFS): equal by manifest, the properties set on the source carried, running only on delta', async () => {
    const stack = `${prefix}-fuse`;
    const source = `${APPDATA.alpha}/${stack}-app`;
    // Set on the source: these travel. Inherited values come from each host's own pool.
    const setOnSource = { recordsize: '65536', compression: 'gzip', atime: 'off', 'org.example:backup': 'weekly' };
    await sh(
      'alpha',
      'zfs create -o recordsize=64K -o compression=gzip -o atime=off -o org.example:backup=weekly "$1" && head -c 300000 /dev/urandom > "$2/data.bin" && echo hi > "$2/.dot"',
      `${DATASET.alpha}/${stack}-app`,
      source,
    );
    await deployStack(hosts.alpha, stack, `services:\n  app:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n    init: true\n    volumes:\n      - ${source}:/data\n`);
    const report = await migrate('alpha', 'delta', stack);
    expect(report.final.results[0]).toMatchObject({ ok: true, method: 'zfs' });
    expect(await running(stack, ['alpha', 'delta'])).toEqual({ alpha: 0, delta: 1 });
    // alpha's copy is stopped and unchanged; zfs-fuse shows whole seconds only.
    const [before, after] = await Promise.all([readManifest(hosts.alpha.transport, source, { hashes: true }), readManifest(hosts.delta.transport, `${APPDATA.delta}/${stack}-app`, { hashes: true })]);
    expect(compareManifests(before, after)).toEqual([]);
    const names = Object.keys(setOnSource);
    expect(await properties('alpha', `${DATASET.alpha}/${stack}-app`, names)).toEqual(setOnSource);
    expect(await properties('delta', `${DATASET.delta}/${stack}-app`, names)).toEqual(setOnSource);
  }, GUEST_TEST_TIMEOUT_MS);

  it('moves a stack from delta to gamma (no ZFS) by rsync, through this machine since delta cannot reach gamma', async () => {
    const stack = `${prefix}-rs`;
    const source = `${APPDATA.delta}/${stack}-app`;
    await sh('delta', 'mkdir -p "$1" && head -c 200000 /dev/urandom > "$1/f" && setfattr -n user.k -v v "$1/f" && ln "$1/f" "$1/hard" && echo x > "$1/.hidden"', source);
    await deployStack(hosts.delta, stack, `services:\n  app:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n    init: true\n    volumes:\n      - ${source}:/data\n`);
    const report = await migrate('delta', 'gamma', stack);
    expect(report.final.results[0]).toMatchObject({ ok: true, method: 'rsync', route: 'relay' });
    expect(report.final.relayReason).toMatch(/delta cannot log in to gamma/);
    expect(await running(stack, ['delta', 'gamma'])).toEqual({ delta: 0, gamma: 1 });
    const [before, after] = await Promise.all([readManifest(hosts.delta.transport, source, { hashes: true }), readManifest(hosts.gamma.transport, `${APPDATA.gamma}/${stack}-app`, { hashes: true })]);
    expect(after.xattrsChecked).toBe(true);
    expect(compareManifests(before, after)).toEqual([]);
  }, GUEST_TEST_TIMEOUT_MS);
});
