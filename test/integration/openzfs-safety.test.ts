/**
 * What a ZFS transfer may touch on real OpenZFS 2.3 (the QEMU guests delta,
 * root, and epsilon, a sudo login whose shell is dash): only datasets it
 * created are marked as its own, what it sends stays held, an interrupted
 * receive is continued or aborted only when it is its own, nothing is mounted
 * over files, an encrypted dataset is never decrypted on the way, and a copy
 * that was written to is never rolled back. Each transfer is one service's
 * dataset, called directly: no stack needed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { command } from '../../src/ssh/quote.js';
import type { SshTransport } from '../../src/ssh/transport.js';
import { compareManifests, readManifest } from '../../src/transfer/manifest.js';
import { relay } from '../../src/transfer/relay.js';
import { issueRouteKey, revokeRouteKey } from '../../src/transfer/route-key.js';
import { transferServices } from '../../src/transfer/transfer-services.js';
import { transferDatasetByZfs, type ZfsTransferOutcome } from '../../src/transfer/zfs-transfer.js';
import { zfsCommands } from '../../src/zfs/commands.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { cleanUpGuests, GUEST_APPDATA, guestSh, openGuests, type Guest } from './guests.js';

const P = `h11b-${process.pid}`;
const APPDATA = GUEST_APPDATA;
let hosts: Record<Guest, DockerHost>;
const commandsRun: string[] = [];
const TIMEOUT_MS = 300_000;

const dataset = (name: string) => `tank/appdata/${P}-${name}`;
const pathOf = (id: Guest, name: string) => `${APPDATA[id]}/${P}-${name}`;
const snapshotName = (tag: string) => `docker-mcp-${P}-${tag}`;
const sh = (id: Guest, script: string, ...args: string[]) => guestSh(hosts[id], script, ...args);
const zfsValue = async (id: Guest, property: string, name: string) =>
  (await sh(id, 'zfs get -H -p -o value,source "$1" "$2"', property, name)).stdout.trim().split('\t');

/** A real transport that remembers the command lines it ran, to show which flags a send used. */
function recording(transport: SshTransport): SshTransport {
  return new Proxy(transport, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if ((property === 'exec' || property === 'stream') && typeof value === 'function') {
        return (cmd: { text: string }, ...rest: unknown[]) => {
          commandsRun.push(cmd.text);
          return (value as (...args: unknown[]) => unknown).call(target, cmd, ...rest);
        };
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function transfer(sourceName: string, tag: string, targetName = sourceName): Promise<ZfsTransferOutcome> {
  return transferDatasetByZfs({
    service: sourceName,
    source: new ZfsHost(recording(hosts.delta.transport)),
    sourceDataset: dataset(sourceName),
    target: new ZfsHost(recording(hosts.epsilon.transport)),
    targetDataset: dataset(targetName),
    snapshotName: snapshotName(tag),
  });
}

/** A source dataset on delta holding `megabytes` of random data and a config file. */
async function sourceDataset(name: string, megabytes = 1, options: string[] = []): Promise<void> {
  const created = await sh(
    'delta',
    'set -e; ds="$1"; dir="$2"; mb="$3"; shift 3; zfs create "$@" "$ds"; head -c "$((mb * 1048576))" /dev/urandom > "$dir/data.bin"; echo "key: value" > "$dir/config.yml"',
    dataset(name), pathOf('delta', name), String(megabytes), ...options,
  );
  expect(created.stderr).toBe('');
}

beforeAll(async () => {
  hosts = await openGuests();
  await cleanUpGuests(hosts, P);
}, TIMEOUT_MS);

afterAll(async () => {
  await cleanUpGuests(hosts, P);
  for (const host of Object.values(hosts)) await host.transport.close();
}, TIMEOUT_MS);

describe('what counts as docker-mcp\'s own dataset', () => {
  it('refuses to overwrite a dataset that only inherits the managed mark from its parent, and leaves its files alone', async () => {
    await sourceDataset('inherits');
    await sh('epsilon', 'set -e; zfs create -o docker-mcp:managed=yes "$1"; zfs create "$1/svc"; echo theirs > "$2/svc/theirs.txt"', dataset('parent'), pathOf('epsilon', 'parent'));
    await expect(transfer('inherits', '1', 'parent/svc')).rejects.toThrow(/refusing to overwrite tank\/appdata\/h11b-\d+-parent\/svc/);
    expect((await sh('epsilon', 'cat "$1/svc/theirs.txt"', pathOf('epsilon', 'parent'))).stdout).toBe('theirs\n');
  }, TIMEOUT_MS);

  it('marks only the dataset its receive created (not the parent it made, not a dataset that was there), sends -L -e -c every time, carries the properties set, and holds what it sent', async () => {
    await sourceDataset('mark', 3, ['-o', 'recordsize=1M', '-o', 'compression=zstd', '-o', 'atime=off', '-o', 'org.example:backup=daily']);
    commandsRun.length = 0;
    const first = await transfer('mark', '1', 'np/mark');
    expect(first).toMatchObject({ mode: 'full' });
    expect(await zfsValue('epsilon', 'docker-mcp:managed', dataset('np/mark'))).toEqual(['yes', 'local']);
    expect(await zfsValue('epsilon', 'docker-mcp:managed', dataset('np'))).not.toEqual(['yes', 'local']);
    for (const [property, value] of [['recordsize', '1048576'], ['compression', 'zstd'], ['atime', 'off'], ['org.example:backup', 'daily']]) {
      expect(await zfsValue('epsilon', property!, dataset('np/mark'))).toEqual([value, 'local']);
    }
    // Held on both sides: a pruner's destroy is refused.
    for (const [id, name] of [['delta', dataset('mark')], ['epsilon', dataset('np/mark')]] as const) {
      const destroy = await sh(id, 'zfs destroy "$1"', `${name}@${snapshotName('1')}`);
      expect(destroy.exitCode, `${id}: ${destroy.stderr}`).not.toBe(0);
      expect((await sh(id, 'zfs holds -H "$1"', `${name}@${snapshotName('1')}`)).stdout).toContain('docker-mcp');
    }

    // Someone else's replica of it now (the mark removed): an incremental into it does not claim it.
    await sh('epsilon', 'zfs inherit docker-mcp:managed "$1"', dataset('np/mark'));
    await sh('delta', 'echo more >> "$1/config.yml"', pathOf('delta', 'mark'));
    const second = await transfer('mark', '2', 'np/mark');
    expect(second).toMatchObject({ mode: 'incremental', pruneWarnings: [] });
    expect(second.pruned.map((p) => p.split('@')[1])).toEqual([snapshotName('1'), snapshotName('1')]);
    expect(await zfsValue('epsilon', 'docker-mcp:managed', dataset('np/mark'))).not.toEqual(['yes', 'local']);
    expect((await sh('epsilon', 'zfs holds -H "$1"', `${dataset('np/mark')}@${snapshotName('2')}`)).stdout).toContain('docker-mcp');
    const sends = commandsRun.filter((text) => /zfs send (?!-n)/.test(text));
    expect(sends.length).toBe(2);
    for (const send of sends) expect(send).toMatch(/zfs send -L -e -c /);
  }, TIMEOUT_MS);

  it('reports a prune that fails as a warning: the transfer still succeeds', async () => {
    // A user's own hold on the older snapshot keeps it from being destroyed.
    await sh('epsilon', 'zfs hold user-backup "$1"', `${dataset('np/mark')}@${snapshotName('2')}`);
    const third = await transfer('mark', '3', 'np/mark');
    expect(third.mode).toBe('incremental');
    expect(third.pruneWarnings).toHaveLength(1);
    expect(third.pruneWarnings[0]).toContain(`${dataset('np/mark')}@${snapshotName('2')}`);
    expect((await sh('epsilon', 'zfs list -H -o name "$1"', `${dataset('np/mark')}@${snapshotName('2')}`)).exitCode).toBe(0);
  }, TIMEOUT_MS);
});

describe('properties on the way (OpenZFS 2.3 to OpenZFS 2.3)', () => {
  it('carries what users set on the data, never sharing, reservations, quotas, snapdir or exec policy', async () => {
    // Values other than what epsilon's appdata inherits (xattr on, acltype posix), so each must be set there.
    const carried: Record<string, string> = { compression: 'zstd', atime: 'off', xattr: 'off', acltype: 'off', dnodesize: 'auto', 'org.example:tier': 'gold' };
    const hostile = ['sharenfs', 'reservation', 'refreservation', 'quota', 'refquota', 'snapdir', 'exec', 'setuid', 'devices'];
    await sourceDataset('c-props', 1, [
      ...Object.entries(carried).flatMap(([k, v]) => ['-o', `${k}=${v}`]),
      ...['reservation=8M', 'refreservation=8M', 'quota=512M', 'refquota=512M', 'snapdir=visible', 'exec=off', 'setuid=off', 'devices=off'].flatMap((o) => ['-o', o]),
    ]);
    // A guest without an NFS server still records the property when it cannot export it.
    await sh('delta', 'zfs set sharenfs="rw=@0.0.0.0/0,no_root_squash" "$1" 2>/dev/null; true', dataset('c-props'));
    for (const property of hostile) expect(await zfsValue('delta', property, dataset('c-props')), property).toEqual([expect.any(String), 'local']);
    const outcome = await transfer('c-props', '1');
    expect(outcome).toMatchObject({ mode: 'full', propertiesNotSet: [] });
    expect(outcome.propertiesSet.map((p) => p.split('=')[0]).sort()).toEqual(Object.keys(carried).sort());
    for (const [property, value] of Object.entries(carried)) expect(await zfsValue('epsilon', property, dataset('c-props')), property).toEqual([value, 'local']);
    for (const property of hostile) expect((await zfsValue('epsilon', property, dataset('c-props')))[1], property).not.toBe('local');
  }, TIMEOUT_MS);
});

describe('interrupted receives left by an earlier run', () => {
  /** Send `snapshot` (from `from`) but cut the stream after `bytes`: the target keeps a partial receive (-s). */
  async function interruptedReceive(source: string, target: string, snapshot: string, from?: string, bytes = 2_000_000): Promise<void> {
    const send = zfsCommands.send({ snapshot: `${source}@${snapshot}`, ...(from ? { from: `${source}@${from}` } : {}), flags: ['-L', '-e', '-c'] });
    const cut = command(['sh', '-c', `${send.text} | head -c ${bytes}`]);
    // Reading the target (a manifest) changed its atimes: an incremental would be refused outright.
    if (from) await sh('epsilon', 'zfs rollback "$1"', `${target}@${from}`);
    const receiving = await hosts.epsilon.transport.stream(zfsCommands.receive(target, { force: false, resumable: true }), { stdin: 'pipe' });
    const sending = await hosts.delta.transport.stream(cut);
    // Either side may be the first to fail (head closing the pipe, or the receive on a cut stream).
    await expect(relay(sending, receiving, () => {})).rejects.toThrow();
    expect((await zfsValue('epsilon', 'receive_resume_token', target))[0]).toMatch(/^1-/);
  }

  it('continues its own full and incremental receives from the receive_resume_token', async () => {
    await sourceDataset('resume', 12);
    await sh('delta', 'zfs snapshot "$1"', `${dataset('resume')}@${snapshotName('r1')}`);
    await interruptedReceive(dataset('resume'), dataset('resume'), snapshotName('r1'));
    const full = await transfer('resume', 'r1');
    expect(full).toMatchObject({ mode: 'full', resumed: true });
    expect(await zfsValue('epsilon', 'docker-mcp:managed', dataset('resume'))).toEqual(['yes', 'local']);

    await sh('delta', 'head -c 8000000 /dev/urandom > "$2/more.bin" && zfs snapshot "$1"', `${dataset('resume')}@${snapshotName('r2')}`, pathOf('delta', 'resume'));
    await interruptedReceive(dataset('resume'), dataset('resume'), snapshotName('r2'), snapshotName('r1'));
    const incremental = await transfer('resume', 'r2');
    expect(incremental).toMatchObject({ mode: 'incremental', resumed: true });
    const [before, after] = await Promise.all([
      readManifest(hosts.delta.transport, pathOf('delta', 'resume'), { hashes: true }),
      readManifest(hosts.epsilon.transport, pathOf('epsilon', 'resume'), { hashes: true }),
    ]);
    expect(compareManifests(before, after)).toEqual([]);
  }, TIMEOUT_MS);

  it('aborts a stale partial receive of its own (its snapshot gone from the source) and sends afresh', async () => {
    await sh('delta', 'head -c 6000000 /dev/urandom > "$2/stale.bin" && zfs snapshot "$1"', `${dataset('resume')}@${snapshotName('r3')}`, pathOf('delta', 'resume'));
    await interruptedReceive(dataset('resume'), dataset('resume'), snapshotName('r3'), snapshotName('r2'));
    await sh('delta', 'zfs destroy "$1"', `${dataset('resume')}@${snapshotName('r3')}`);
    const next = await transfer('resume', 'r4');
    expect(next).toMatchObject({ mode: 'incremental', fromSnapshot: snapshotName('r2'), resumed: false });
    expect((await zfsValue('epsilon', 'receive_resume_token', dataset('resume')))[0]).toBe('-');
  }, TIMEOUT_MS);

  it("refuses a target holding someone else's partial receive, and leaves it as it is", async () => {
    await sourceDataset('foreign', 8);
    await sh('delta', 'zfs snapshot "$1"', `${dataset('foreign')}@autosnap_hourly`);
    await interruptedReceive(dataset('foreign'), dataset('foreign'), 'autosnap_hourly');
    const token = (await zfsValue('epsilon', 'receive_resume_token', dataset('foreign')))[0];
    await expect(transfer('foreign', '1')).rejects.toThrow(/partially received stream of .*autosnap_hourly.*not docker-mcp's/);
    expect((await zfsValue('epsilon', 'receive_resume_token', dataset('foreign')))[0]).toBe(token);
  }, TIMEOUT_MS);
});

describe('mounts on the target', () => {
  it('refuses a parent it would create over a plain directory that holds files', async () => {
    await sourceDataset('hidden');
    await sh('epsilon', 'mkdir -p "$1" && echo theirs > "$1/theirs.txt"', pathOf('epsilon', 'plain'));
    await expect(transfer('hidden', '1', 'plain/hidden')).rejects.toThrow(/h11b-\d+-plain .*would hide/);
    expect((await sh('epsilon', 'cat "$1/theirs.txt"; zfs list -H -o name "$2"', pathOf('epsilon', 'plain'), dataset('plain'))).stdout).toBe('theirs\n');
  }, TIMEOUT_MS);

  it('receives unmounted and refuses to mount over files at the mountpoint the dataset would get', async () => {
    // The parent mounts elsewhere (the user set it): its child would mount at <elsewhere>/svc, where files are.
    await sh('epsilon', 'set -e; zfs create -o mountpoint="$2" "$1"; mkdir "$2/svc"; echo theirs > "$2/svc/theirs.txt"', dataset('elsewhere'), pathOf('epsilon', 'other-place'));
    await expect(transfer('hidden', '2', 'elsewhere/svc')).rejects.toThrow(/other-place\/svc.*would hide/);
    expect((await sh('epsilon', 'cat "$1/svc/theirs.txt"', pathOf('epsilon', 'other-place'))).stdout).toBe('theirs\n');
    expect((await zfsValue('epsilon', 'mounted', dataset('elsewhere/svc')))[0]).toBe('no');
  }, TIMEOUT_MS);
});

describe('the copy on the target', () => {
  it('rolls back only atime changes before an incremental, and refuses one with a write, naming the file', async () => {
    await sourceDataset('drift');
    await transfer('drift', '1');
    // Read only: atimes change, OpenZFS calls that "modified".
    // ...once the atime updates are on disk (a txg later), so the check before the incremental sees them.
    const read = await sh(
      'epsilon',
      'cat "$1"/* > /dev/null; for i in $(seq 30); do zpool sync tank; [ "$(zfs get -H -p -o value "written@$3" "$2")" != 0 ] && exit 0; sleep 1; done; exit 1',
      pathOf('epsilon', 'drift'),
      dataset('drift'),
      snapshotName('1'),
    );
    expect(read.exitCode).toBe(0);
    expect((await transfer('drift', '2')).mode).toBe('incremental');
    await sh('epsilon', 'echo "written on the target" > "$1/notes.txt"; sync', pathOf('epsilon', 'drift'));
    await expect(transfer('drift', '3')).rejects.toThrow(/changed since .*notes\.txt/s);
    expect((await sh('epsilon', 'cat "$1/notes.txt"', pathOf('epsilon', 'drift'))).stdout).toBe('written on the target\n');
  }, TIMEOUT_MS);

  it('refuses an encrypted dataset before sending anything: never decrypted on the way', async () => {
    await sh('delta', 'umask 077; echo "h11b passphrase" > /root/h11b-key');
    await sourceDataset('secret', 1, ['-o', 'encryption=on', '-o', 'keyformat=passphrase', '-o', 'keylocation=file:///root/h11b-key']);
    await expect(transfer('secret', '1')).rejects.toThrow(/encrypted.*zfs send -w.*zfs load-key/s);
    expect((await sh('epsilon', 'zfs list -H -o name "$1"', dataset('secret'))).exitCode).not.toBe(0);
    expect((await sh('delta', 'zfs list -H -t snapshot -o name -r "$1"', dataset('secret'))).stdout).toBe('');
    await sh('delta', 'rm -f /root/h11b-key');
  }, TIMEOUT_MS);
});

describe('every remote pipeline on a dash login (epsilon)', () => {
  it('converts a plain directory there, sends from it over the direct route, and reads its manifests', async () => {
    await sh('epsilon', 'mkdir -p "$1/sub" && head -c 300000 /dev/urandom > "$1/sub/blob" && echo x > "$1/.hidden"', pathOf('epsilon', 'dash'));
    // The guests hold no key for each other: the direct route takes one made for this transfer, as a migration does.
    const issue = await issueRouteKey(`${P}-dash`, hosts.epsilon, hosts.delta, async () => {});
    if (!issue.issued) throw new Error(issue.reason);
    const summary = await transferServices({
      source: hosts.epsilon,
      target: hosts.delta,
      services: [{ service: 'dash', sourcePath: pathOf('epsilon', 'dash'), targetPath: pathOf('delta', 'dash') }],
      snapshotTag: `${P}-dash`,
      method: 'zfs',
      route: 'direct',
      targetFromSource: issue.key.targetFromSource,
    }).finally(() => revokeRouteKey(issue.key.record, hosts.epsilon, hosts.delta));
    expect(summary.results[0]).toMatchObject({ ok: true, route: 'direct', sourcePreparation: 'converted', mode: 'full' });
    const [before, after] = await Promise.all([
      readManifest(hosts.epsilon.transport, pathOf('epsilon', 'dash'), { hashes: true }),
      readManifest(hosts.delta.transport, pathOf('delta', 'dash'), { hashes: true }),
    ]);
    expect(before.entries.size).toBe(4);
    expect(compareManifests(before, after)).toEqual([]);
  }, TIMEOUT_MS);
});
