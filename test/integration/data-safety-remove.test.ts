/**
 * What --remove-source may delete on the source, and the stack folder copy it
 * depends on. On OpenZFS (delta): only the datasets this migration recorded,
 * never their children or the user's snapshots, never an unverified stack
 * folder. On alpha (which has the test image): never a path another stack's
 * container mounts. The stack folder goes gamma (ext4) → delta (ZFS with
 * xattrs and POSIX ACLs) and gamma → alpha (zfs-fuse keeps no xattrs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackSourceOf } from '../fixtures/stack-source.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { planMigration, type MigrationPlan } from '../../src/migration/plan.js';
import { removeSourceCopy } from '../../src/migration/remove-source.js';
import { copyFolder, copyStackFolder } from '../../src/migration/stream-copy.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { compareManifests, readManifest } from '../../src/transfer/manifest.js';
import type { ServiceTransferResult, TransferSummary } from '../../src/transfer/transfer-services.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { testbedHost } from './testbed.js';

type Id = 'alpha' | 'gamma' | 'delta' | 'epsilon';
const TIMEOUT_MS = 600_000;
const prefix = `h11a-r${process.pid}`;
const hosts = {} as Record<Id, DockerHost>;
const sh = (id: Id, script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 300_000 });

beforeAll(async () => {
  for (const id of ['alpha', 'gamma', 'delta', 'epsilon'] as const) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
});

afterAll(async () => {
  await sh('delta', 'zfs list -H -o name -r tank/appdata | grep "^tank/appdata/$1-" | sort -r | xargs -r -n1 zfs destroy -r; rm -rf /srv/appdata/"$1"-* /srv/compose/"$1"-*; true', prefix);
  await sh('alpha', 'docker ps -aq --filter "name=^$1" | xargs -r docker rm -f >/dev/null; rm -rf /srv/alpha/appdata/"$1"-* /srv/alpha/compose/"$1"-*; true', prefix);
  await sh('gamma', 'rm -rf /srv/gamma/compose/"$1"-*', prefix);
  for (const host of Object.values(hosts)) await host.transport.close();
}, TIMEOUT_MS);

function planFor(source: Id, target: Id, stack: string, paths: readonly string[]): MigrationPlan {
  const services = Object.fromEntries(paths.map((path, index) => [`s${index}`, { binds: [`${path}:/data`] }]));
  const stackSource = stackSourceOf(`${hosts[source].host.compose_path}/${stack}`, stack, services);
  return planMigration({ id: `${stack}-1`, stack, source: hosts[source].host, target: hosts[target].host, stackSource });
}

/** The final transfer as the journal records it: these paths moved, by this method, from these datasets. */
function finalTransfer(moved: readonly { sourcePath: string; method: 'zfs' | 'rsync'; sourceDataset?: string }[]): TransferSummary {
  const results = moved.map((m, index): ServiceTransferResult => ({
    service: `s${index}`, ok: true, method: m.method, sourcePath: m.sourcePath, targetPath: m.sourcePath, sourceDataset: m.sourceDataset ?? null,
    targetDataset: null, sourcePreparation: null, sourceLeftover: null, mode: m.method === 'zfs' ? 'full' : 'copy', route: 'direct', compressed: false,
    snapshot: null, resumed: false, pruneWarnings: [], bytes: 0, seconds: 0, bytesPerSecond: 0, propertiesSet: [], propertiesNotSet: [], error: null,
  }));
  return { services_transferred: results.length, total_services: results.length, bytes: 0, seconds: 0, results };
}

describe('--remove-source on OpenZFS', () => {
  it('destroys only the datasets it recorded moving, keeps one with children or user snapshots, and an unverified stack folder, saying why', async () => {
    const stack = `${prefix}-rs`;
    const path = (name: string) => `/srv/appdata/${stack}-${name}`;
    const dataset = (name: string) => `tank/appdata/${stack}-${name}`;
    await sh(
      'delta',
      [
        'set -e',
        'zfs create "$1" && zfs create "$1/child" && echo a > "$2/file" && zfs snapshot "$1@mine" && zfs snapshot "$1@docker-mcp-t"',
        'zfs create "$3" && echo b > "$4/file" && zfs snapshot "$3@docker-mcp-t"',
        'mkdir -p "$5" && echo c > "$5/file"',
        'mkdir -p "$6" && echo "services: {}" > "$6/docker-compose.yml"',
      ].join('\n'),
      dataset('keep'), path('keep'), dataset('gone'), path('gone'), path('notmoved'), `/srv/compose/${stack}`,
    );
    const plan = planFor('delta', 'epsilon', stack, [path('keep'), path('gone'), path('notmoved')]);
    const final = finalTransfer([
      { sourcePath: path('keep'), method: 'zfs', sourceDataset: dataset('keep') },
      { sourcePath: path('gone'), method: 'zfs', sourceDataset: dataset('gone') },
    ]);

    const outcome = await removeSourceCopy(plan, hosts.delta, { final });
    const zfs = new ZfsHost(hosts.delta.transport);
    expect((await zfs.snapshots(dataset('keep'))).map((s) => s.name)).toEqual(['mine', 'docker-mcp-t']);
    expect(await zfs.dataset(`${dataset('keep')}/child`)).not.toBeNull();
    expect(await zfs.dataset(dataset('gone'))).toBeNull();
    expect((await sh('delta', 'cat "$1/file" "$2/docker-compose.yml"', path('notmoved'), `/srv/compose/${stack}`)).stdout).toBe('c\nservices: {}\n');
    expect(outcome.removed).toEqual([`delta:${dataset('gone')}`]);
    expect(outcome.kept).toEqual([
      `delta:/srv/compose/${stack}: its copy on epsilon was not verified`,
      `delta:${dataset('keep')}: it has child datasets (${dataset('keep')}/child) and it has snapshots docker-mcp did not make (@mine)`,
      `delta:${path('notmoved')}: this migration did not record moving it`,
    ]);

    // Once the folder's copy is verified, it goes too.
    const again = await removeSourceCopy(plan, hosts.delta, { final, stackFolderVerified: { path: plan.targetStackDir, entries: 2, bytes: 14 } });
    expect(again.removed).toEqual([`delta:/srv/compose/${stack}`]);
  }, TIMEOUT_MS);
});

describe('--remove-source beside another stack', () => {
  it("keeps a moved path that another stack's container still mounts, even stopped, naming it", async () => {
    const stack = `${prefix}-shared`;
    const path = `/srv/alpha/appdata/${stack}-data`;
    const other = `${prefix}-other-app`;
    await sh('alpha', 'mkdir -p "$1" && echo shared > "$1/file"', path);
    await hosts.alpha.transport.exec(command(['docker', 'create', '--name', other, '--label', `com.docker.compose.project=${prefix}-other`, '-v', `${path}:/data`, 'local/busybox:test', 'true']));
    const plan = planFor('alpha', 'gamma', stack, [path]);
    const outcome = await removeSourceCopy(plan, hosts.alpha, { final: finalTransfer([{ sourcePath: path, method: 'rsync' }]) });
    expect((await sh('alpha', 'cat "$1/file"', path)).stdout).toBe('shared\n');
    expect(outcome.kept).toContain(`alpha:${path}: other containers mount it (${other})`);
  });
});

describe('the stack folder', () => {
  const build = (dir: string) =>
    sh('gamma', 'mkdir -p "$1" && echo "services: {}" > "$1/docker-compose.yml" && echo a > "$1/attrs" && setfattr -n user.origin -v gamma "$1/attrs" && setfacl -m u:1234:r "$1/attrs" && truncate -s 16M "$1/sparse.img" && echo tail >> "$1/sparse.img"', dir);

  it('is copied keeping xattrs, POSIX ACLs and holes, as its manifest shows', async () => {
    const dir = `/srv/gamma/compose/${prefix}-sf`;
    const target = `/srv/compose/${prefix}-sf`;
    await build(dir);
    await copyFolder(hosts.gamma.transport, dir, hosts.delta.transport, target);
    const [before, after] = await Promise.all([readManifest(hosts.gamma.transport, dir), readManifest(hosts.delta.transport, target)]);
    expect(before.entries.get('attrs')?.xattrs).toHaveProperty('system.posix_acl_access');
    expect(before.xattrsChecked && after.xattrsChecked).toBe(true);
    expect(compareManifests(before, after)).toEqual([]);
    const blocks = Number((await sh('delta', 'sync; stat -c %b "$1/sparse.img"', target)).stdout.trim());
    expect(blocks * 512).toBeLessThan(1024 * 1024);
  }, TIMEOUT_MS);

  it('is verified by manifest after the copy: a copy onto zfs-fuse, which keeps no xattrs, is refused', async () => {
    const dir = `/srv/gamma/compose/${prefix}-nx`;
    const target = `/srv/alpha/compose/${prefix}-nx`;
    await build(dir);
    await expect(copyStackFolder(hosts.gamma.transport, dir, hosts.alpha.transport, target)).rejects.toThrow(/differs: "attrs" xattrs/);
    const verified = await copyStackFolder(hosts.gamma.transport, dir, hosts.gamma.transport, `${dir}-copy`);
    expect(verified).toMatchObject({ path: `${dir}-copy`, entries: 4 });
  });
});
