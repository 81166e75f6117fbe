/**
 * The whole failover cycle on OpenZFS 2.3, with a real power cut: a stack
 * on delta (a writer, `restart: always`) with its standby on epsilon (a
 * sudo login). After a pass, delta writes more, then its QEMU process is
 * killed. `failover` finds delta silent and starts the stack on epsilon from
 * the pass's snapshot: data equal to that snapshot by manifest, the window
 * reported. delta boots again on its own disks and its engine starts the
 * stack's containers by itself; the first command that reaches delta stops
 * them. `failback` keeps what delta wrote after the snapshot in a dataset of
 * its own, sends back only what epsilon wrote (delta's datasets keep their
 * guid), and the stack runs on delta with everything epsilon wrote; epsilon
 * is its standby again.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import type { FailbackReport } from '../../src/failover/failback.js';
import type { FailoverReport } from '../../src/failover/failover.js';
import { SshTransport } from '../../src/ssh/transport.js';
import type { StandbyPassRecord } from '../../src/standby/pass-state.js';
import type { StandbyStatus } from '../../src/standby/status.js';
import { cachedGuestImage } from '../../src/testbed/guests/guest-image.js';
import { guestSpec } from '../../src/testbed/guests/guest-layout.js';
import { bootGuestAgain, cutGuestPower, guestRunning } from '../../src/testbed/guests/guest-vm.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { runCli } from './cli.js';
import { cleanUpGuests, GUEST_APPDATA, GUEST_COMPOSE, guestSh, openGuests, type Guest } from './guests.js';

const prefix = `fvo${process.pid}`;
const stack = `${prefix}-notes`;
const SERVICES = ['app', 'db'];
const datasets = SERVICES.map((s) => `tank/appdata/${stack}-${s}`);
const TIMEOUT_MS = 900_000;
let hosts: Record<Guest, DockerHost>;
let dir: string;
let pass: StandbyPassRecord;

const cli = (...args: string[]) => runCli(['--config', path.join(dir, 'hosts.yml'), ...args], { DOCKER_MCP_STATE_DIR: path.join(dir, 'state') }, undefined, 600_000);

const COMPOSE = (appdata: string) => `services:
  app:
    image: local/busybox:test
    command: ["sh", "-c", "while true; do date >> /data/log; sleep 1; done"]
    network_mode: none
    init: true
    restart: always
    volumes:
      - ${appdata}/${stack}-app:/data
  db:
    image: local/busybox:test
    command: ["sleep", "36000"]
    network_mode: none
    init: true
    restart: always
    volumes:
      - ${appdata}/${stack}-db:/data
`;

/** Every file under `dir` with its sha256, sorted: what "the same data" means here. */
const MANIFEST = 'cd "$1" && find . -type f ! -name log -exec sha256sum {} + | sort -k 2';

async function running(id: Guest): Promise<string[]> {
  const listed = await guestSh(hosts[id], 'docker ps --filter "label=com.docker.compose.project=$1" --format "{{.Label \\"com.docker.compose.service\\"}}"', stack);
  return listed.stdout.split('\n').filter(Boolean).sort();
}

/** delta's connection, made afresh: the old one died with the power. */
async function reconnectDelta(): Promise<void> {
  await hosts.delta.transport.close().catch(() => {});
  hosts.delta = { host: hosts.delta.host, transport: new SshTransport(hosts.delta.host) };
}

beforeAll(async () => {
  hosts = await openGuests();
  dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-failover-openzfs-'));
  copyFileSync(testbedHostsFile(), path.join(dir, 'hosts.yml'));
  const zfs = new ZfsHost(hosts.delta.transport);
  for (const dataset of datasets) await zfs.createDataset(dataset);
  const made = await guestSh(
    hosts.delta,
    'set -e; mkdir -p "$2/$3"; printf "%s" "$4" > "$2/$3/compose.yaml"; head -c 1000000 /dev/urandom > "$1/$3-db/pages.bin"; echo v1 > "$1/$3-db/version"; cd "$2/$3" && docker compose up -d --quiet-pull 2>&1',
    GUEST_APPDATA.delta,
    GUEST_COMPOSE.delta,
    stack,
    COMPOSE(GUEST_APPDATA.delta),
  );
  expect(made.exitCode, made.stdout + made.stderr).toBe(0);
}, TIMEOUT_MS);

afterAll(async () => {
  // The next files need delta: booted again if a failure left it off.
  const delta = guestSpec('delta');
  const image = cachedGuestImage();
  if (!(await guestRunning(delta)) && image) {
    await bootGuestAgain(delta, image);
    await reconnectDelta();
  }
  await cleanUpGuests(hosts, prefix);
  await guestSh(hosts.delta, 'rm -rf -- "$1"/.docker-mcp-kept/"$2"-*', GUEST_APPDATA.delta, stack);
  await guestSh(hosts.epsilon, 'rm -rf -- "$1/.docker-mcp-standby/delta/$2" "$3/.docker-mcp-standby/delta/$2.volumes"', GUEST_COMPOSE.epsilon, stack, GUEST_APPDATA.epsilon);
  for (const host of Object.values(hosts)) await host.transport.close();
  rmSync(dir, { recursive: true, force: true });
}, TIMEOUT_MS);

describe('failover, fence and failback delta ⇄ epsilon on OpenZFS 2.3, with a power cut', () => {
  it("delta's power cut: the stack starts on epsilon from the pass's snapshot, equal to it by manifest, and the window is reported", async () => {
    expect((await cli('standby', 'add', stack, '--on', 'delta', '--to', 'epsilon')).exitCode).toBe(0);
    const synced = await cli('standby', 'sync', stack, '--json');
    expect(synced.exitCode, synced.stdout + synced.stderr.slice(-2000)).toBe(0);
    pass = (JSON.parse(synced.stdout) as StandbyPassRecord[])[0] as StandbyPassRecord;
    expect(pass).toMatchObject({ ok: true, confirmed: { snapshot: pass.snapshot } });
    const snapshot = pass.snapshot as string;
    const atSnapshot = await guestSh(hosts.delta, MANIFEST, `${GUEST_APPDATA.delta}/${stack}-db/.zfs/snapshot/${snapshot}`);
    const logAtSnapshot = (await guestSh(hosts.delta, 'cat "$1"', `${GUEST_APPDATA.delta}/${stack}-app/.zfs/snapshot/${snapshot}/log`)).stdout;
    expect(atSnapshot.stdout).toContain('./pages.bin');

    // Written after the pass, and on disk (sync) before the power goes: delta keeps it, epsilon never sees it.
    await guestSh(hosts.delta, 'echo v2 > "$1/version"; echo after-the-pass > "$1/late.txt"; sync', `${GUEST_APPDATA.delta}/${stack}-db`);
    await cutGuestPower(guestSpec('delta'));

    const run = await cli('failover', stack, '--yes', '--tries', '2', '--interval', '1', '--json');
    expect(run.exitCode, run.stdout + run.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(run.stdout) as FailoverReport;
    expect(report).toMatchObject({ stack, from: 'delta', to: 'epsilon', snapshot, snapshotAt: pass.snapshotAt, folder: `${GUEST_COMPOSE.epsilon}/${stack}` });
    expect(report.primary.every((line) => line.includes('no answer'))).toBe(true);
    expect(report.lossWindowSeconds).toBeGreaterThan(0);
    expect(report.services).toEqual(SERVICES.map((service) => ({ service, state: 'running' })));
    expect(await running('epsilon')).toEqual(SERVICES);
    expect((await guestSh(hosts.epsilon, MANIFEST, `${GUEST_APPDATA.epsilon}/${stack}-db`)).stdout).toBe(atSnapshot.stdout);
    // The writer carries on from the snapshot's log.
    expect((await guestSh(hosts.epsilon, 'cat "$1"', `${GUEST_APPDATA.epsilon}/${stack}-app/log`)).stdout.startsWith(logAtSnapshot)).toBe(true);
  }, TIMEOUT_MS);

  it('delta boots again and its engine starts the stack by itself; the first command that reaches it stops it, read-only, diverged', async () => {
    const boot = await bootGuestAgain(guestSpec('delta'), cachedGuestImage() as NonNullable<ReturnType<typeof cachedGuestImage>>);
    expect(boot.started).toBe(true);
    await reconnectDelta();
    // restart: always, without docker-mcp; and what was synced before the cut survived it.
    let up: string[] = [];
    for (let i = 0; i < 30 && up.length < SERVICES.length; i++) {
      up = await running('delta');
      if (up.length < SERVICES.length) await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    expect(up).toEqual(SERVICES);
    expect((await guestSh(hosts.delta, 'cat "$1/late.txt"', `${GUEST_APPDATA.delta}/${stack}-db`)).stdout).toBe('after-the-pass\n');

    const listed = await cli('stacks', 'list', 'delta', '--json');
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stderr).toContain(`fenced ${stack} on delta (failed over to epsilon)`);
    expect(listed.stderr).toContain('DIVERGED');
    expect(await running('delta')).toEqual([]);
    expect((await guestSh(hosts.delta, 'touch "$1/x" 2>&1; true', `${GUEST_APPDATA.delta}/${stack}-db`)).stdout).toContain('Read-only file system');
    const [status] = JSON.parse((await cli('standby', 'status', '--json')).stdout) as StandbyStatus[];
    expect(status).toMatchObject({ state: 'fenced', failedOver: { diverged: true } });
    expect((await cli('stacks', 'list', 'delta')).stdout).toMatch(new RegExp(`delta\\s+${stack}\\s+epsilon\\s+\\S+\\s+fenced, DIVERGED`));
  }, TIMEOUT_MS);

  it("failback keeps delta's own writes in a dataset of its own, sends only what epsilon wrote, and epsilon is the standby again", async () => {
    const guids = async () => (await guestSh(hosts.delta, 'zfs get -H -o value guid "$@"', ...datasets)).stdout;
    const before = await guids();
    await guestSh(hosts.epsilon, 'echo written-on-epsilon > "$1/epsilon.txt"', `${GUEST_APPDATA.epsilon}/${stack}-db`);

    const run = await cli('failback', stack, '--yes', '--json');
    expect(run.exitCode, run.stdout + run.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(run.stdout) as FailbackReport;
    expect(report).toMatchObject({ stack, from: 'epsilon', to: 'delta', commonSnapshot: pass.snapshot, pass: { ok: true } });
    expect(report.migration.modes.filter((m) => m.includes('full'))).toEqual([]);
    // Far less than the 1 MB the stack holds: the difference only.
    expect(report.migration.bytesSent).toBeLessThan(500_000);
    expect(await guids()).toBe(before);

    const keptDb = report.kept.datasets.find((k) => k.dataset === `tank/appdata/${stack}-db`);
    expect(keptDb?.written).toBeGreaterThan(0);
    expect(keptDb?.kept).toMatch(new RegExp(`^tank/appdata/${stack}-db-kept-`));
    const kept = await guestSh(hosts.delta, 'zfs mount "$1" && cd "$(zfs get -H -o value mountpoint "$1")" && cat late.txt version; cd /; zfs umount "$1"', keptDb?.kept as string);
    expect(kept.stdout).toBe('after-the-pass\nv2\n');

    expect(await running('delta')).toEqual(SERVICES);
    const db = await guestSh(hosts.delta, 'cat "$1/epsilon.txt" "$1/version"; ls -A "$1"', `${GUEST_APPDATA.delta}/${stack}-db`);
    expect(db.stdout).toMatch(/^written-on-epsilon\nv1\n/);
    expect(db.stdout).not.toContain('late.txt');
    const copy = await guestSh(hosts.epsilon, 'zfs get -H -o value readonly,mounted,docker-mcp:standby-of "$1"', `tank/appdata/${stack}-db`);
    expect(copy.stdout.split('\n').filter(Boolean)).toEqual(['on', 'no', `delta/${stack}`]);
    expect(await running('epsilon')).toEqual([]);
    expect(readFileSync(path.join(dir, 'standby.yml'), 'utf8')).not.toContain('failed_over');
  }, TIMEOUT_MS);
});
