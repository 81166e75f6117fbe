/**
 * Failover on the container testbed: alpha → its standby beta (ZFS), a
 * stack of two services, one writing live, with a named volume. A failover
 * while alpha answers is refused and changes nothing. Then alpha "dies":
 * its containers are killed and hosts.yml points alpha at a loopback address
 * where nothing listens, so every try of it meets silence. The failover
 * starts the stack on beta from the pass's snapshot, the volume filled from
 * its staged tar; what alpha wrote after the pass is not there; standby.yml
 * records it, status and check say so, and a pass is refused. Then alpha
 * comes back and its engine starts the containers again: the first command
 * that reaches alpha fences it (the stack stopped and kept from restarting,
 * its datasets read-only, what it wrote since kept), once.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { listContainers } from '../../src/docker/containers.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import type { FailbackReport } from '../../src/failover/failback.js';
import type { FailoverReport } from '../../src/failover/failover.js';
import { TEST_CRASH_VARIABLE } from '../../src/migration/test-crash-hook.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import type { StandbyPassRecord } from '../../src/standby/pass-state.js';
import type { StandbyStatus } from '../../src/standby/status.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { runCli } from './cli.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

type Id = 'alpha' | 'beta';
const hosts = {} as Record<Id, DockerHost>;
const prefix = `fov${process.pid}`;
const stack = `${prefix}-notes`;
const volume = `${stack}_uploads`;
const SERVICES = ['app', 'db'];
/** Nothing listens here: a host that is gone. */
const DEAD_ADDRESS = '127.0.0.99';
const sh = (id: Id, script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 300_000 });

let dir: string;
const hostsFile = () => path.join(dir, 'hosts.yml');
const cli = (...args: string[]) => runCli(['--config', hostsFile(), ...args], { DOCKER_MCP_STATE_DIR: path.join(dir, 'state') }, undefined, 300_000);

const COMPOSE = `services:
  app:
    image: local/busybox:test
    command: ["sh", "-c", "while true; do date >> /data/log; sleep 0.2; done"]
    network_mode: none
    init: true
    restart: always
    volumes:
      - /srv/alpha/appdata/${stack}-app:/data
      - uploads:/uploads
  db:
    image: local/busybox:test
    command: ["sleep", "3600"]
    network_mode: none
    init: true
    volumes:
      - /srv/alpha/appdata/${stack}-db:/var/lib/db
volumes:
  uploads:
`;

beforeAll(async () => {
  for (const id of ['alpha', 'beta'] as const) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-failover-'));
  copyFileSync(testbedHostsFile(), hostsFile());
  const zfs = new ZfsHost(hosts.alpha.transport);
  for (const service of SERVICES) await zfs.createDataset(`alpha/appdata/${stack}-${service}`);
  const up = await sh(
    'alpha',
    [
      'set -e',
      'mkdir -p "$1"',
      'printf "%s" "$2" > "$1/docker-compose.yml"',
      'head -c 300000 /dev/urandom > "$3/pages.bin"',
      'cd "$1" && docker-compose up -d 2>&1',
      `docker exec ${stack}_app_1 sh -c 'echo kept > /uploads/page.txt'`,
    ].join('\n'),
    `/srv/alpha/compose/${stack}`,
    COMPOSE,
    `/srv/alpha/appdata/${stack}-db`,
  );
  expect(up.exitCode, up.stdout + up.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  for (const id of ['alpha', 'beta'] as const) await cleanUpPrefix(hosts[id], id, prefix);
  await sh('beta', 'rm -rf -- "$1" "$2"', `/srv/beta/appdata/.docker-mcp-standby/alpha/${stack}.volumes`, `/srv/beta/compose/.docker-mcp-standby/alpha/${stack}`);
  await sh('alpha', 'rm -rf -- "$1"-*', `/srv/alpha/appdata/.docker-mcp-kept/${stack}`);
  for (const host of Object.values(hosts)) await host.transport.close();
  rmSync(dir, { recursive: true, force: true });
}, 300_000);

describe('failover alpha → beta (container testbed, ZFS)', () => {
  let pass: StandbyPassRecord;

  it('is refused while alpha answers, and nothing changes', async () => {
    expect((await cli('standby', 'add', stack, '--on', 'alpha', '--to', 'beta')).exitCode).toBe(0);
    const synced = await cli('standby', 'sync', stack, '--json');
    expect(synced.exitCode, synced.stdout + synced.stderr).toBe(0);
    pass = (JSON.parse(synced.stdout) as StandbyPassRecord[])[0] as StandbyPassRecord;
    expect(pass.stagedCompose).toMatchObject({ stackDir: `/srv/beta/compose/${stack}`, services: SERVICES });

    const refused = await cli('failover', stack, '--yes', '--tries', '1', '--json');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('alpha answers');
    expect(refused.stderr).toContain(`docker-mcp migrate alpha beta ${stack}`);
    expect(readFileSync(path.join(dir, 'standby.yml'), 'utf8')).not.toContain('failed_over');
    const copy = await sh('beta', 'zfs get -H -o value readonly,mounted "$1"', `beta/appdata/${stack}-db`);
    expect(copy.stdout.split('\n').filter(Boolean)).toEqual(['on', 'no']);
  });

  it('with alpha gone, starts the stack on beta from the pass, volume filled, and says what was lost', async () => {
    // Written after the pass: alpha keeps it, beta never sees it.
    await sh('alpha', 'echo after-the-pass > "$1/late.txt"', `/srv/alpha/appdata/${stack}-db`);
    // The power cut: the containers die where they are, and alpha answers no more.
    await sh('alpha', 'docker ps -q --filter "name=^$1" | xargs -r docker kill >/dev/null', prefix);
    const config = parse(readFileSync(hostsFile(), 'utf8')) as { hosts: Record<string, { hostname: string }> };
    (config.hosts.alpha as { hostname: string }).hostname = DEAD_ADDRESS;
    writeFileSync(hostsFile(), stringify(config));

    // Cut off (kill -9) once the data is brought up: recorded, not finished; a failback is refused, and running it again finishes it.
    const cut = await runCli(['--config', hostsFile(), 'failover', stack, '--yes', '--tries', '1', '--json'], { DOCKER_MCP_STATE_DIR: path.join(dir, 'state'), [TEST_CRASH_VARIABLE]: 'failover-data' }, undefined, 300_000);
    expect(cut.exitCode).not.toBe(0);
    const recorded = readFileSync(path.join(dir, 'standby.yml'), 'utf8');
    expect(recorded).toContain('failed_over:');
    expect(recorded).not.toContain('running_at');
    expect((await cli('failback', stack, '--yes')).stderr).toContain(`finish it first with docker-mcp failover ${stack}`);

    const run = await cli('failover', stack, '--yes', '--tries', '2', '--interval', '1', '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as FailoverReport;
    expect(report).toMatchObject({ stack, from: 'alpha', to: 'beta', snapshot: pass.confirmed?.snapshot, snapshotAt: pass.confirmed?.at, volumes: [volume], folder: `/srv/beta/compose/${stack}` });
    expect(report.primary).toHaveLength(2);
    expect(report.primary.every((line) => line.includes('no answer'))).toBe(true);
    expect([...report.data].sort()).toEqual(SERVICES.map((s) => `beta/appdata/${stack}-${s}`));
    expect(report.lossWindowSeconds).toBeGreaterThan(0);
    expect(report.services).toEqual(SERVICES.map((service) => ({ service, state: 'running' })));

    const running = (await listContainers(hosts.beta)).filter((c) => c.stack === stack && c.state === 'running').map((c) => c.service).sort();
    expect(running).toEqual(SERVICES);
    const sums = async (id: Id) => (await sh(id, 'sha256sum < "$1/pages.bin"', `/srv/${id}/appdata/${stack}-db`)).stdout;
    expect(await sums('beta')).toBe(await sums('alpha'));
    expect((await sh('beta', 'ls -A "$1"', `/srv/beta/appdata/${stack}-db`)).stdout).not.toContain('late.txt');
    expect((await sh('beta', `docker exec ${stack}-app-1 cat /uploads/page.txt`)).stdout).toBe('kept\n');
    // The copies are the stack's own now: writable, mounted, unmarked; what the passes staged is gone.
    const props = await sh('beta', 'zfs get -H -o value readonly,mounted,docker-mcp:standby-of "$1"', `beta/appdata/${stack}-app`);
    expect(props.stdout.split('\n').filter(Boolean)).toEqual(['off', 'yes', '-']);
    expect((await sh('beta', 'ls -A /srv/beta/compose/.docker-mcp-standby/alpha 2>/dev/null; ls -A /srv/beta/appdata/.docker-mcp-standby/alpha 2>/dev/null; true')).stdout).not.toContain(stack);
  });

  it('is recorded: standby.yml, status and check say so, and no pass runs from alpha', async () => {
    expect(readFileSync(path.join(dir, 'standby.yml'), 'utf8')).toMatch(new RegExp(`failed_over:\\n\\s+at: .+\\n\\s+snapshot: ${pass.confirmed?.snapshot}`));
    const statusRun = await cli('standby', 'status', '--json');
    const [status] = JSON.parse(statusRun.stdout) as StandbyStatus[];
    expect(status?.state).toBe('failed-over');
    // It tries to fence alpha first, as any contact would; alpha is silent, so that waits for its return.
    expect(statusRun.stderr).toContain('alpha does not answer: it is fenced on the first contact once it does');
    const check = await cli('standby', 'check');
    expect(check.exitCode).toBe(2);
    expect(check.stdout).toContain(`alpha/${stack} failed-over`);
    const refusedPass = await cli('standby', 'sync', stack, '--json');
    expect(refusedPass.exitCode).not.toBe(0);
    expect(refusedPass.stdout + refusedPass.stderr).toContain('was failed over to beta');
    const again = await cli('failover', stack, '--yes', '--primary-dead');
    expect(again.exitCode).not.toBe(0);
    expect(again.stderr).toContain('already');
    // beta runs it now: a stack there, no longer a copy, and compose commands on it are allowed.
    const [onBeta] = JSON.parse((await cli('stacks', 'list', 'beta', '--json')).stdout) as { value: { name: string }[]; standbyCopies?: { stack: string }[] }[];
    expect(onBeta?.value.map((s) => s.name)).toContain(stack);
    expect((onBeta?.standbyCopies ?? []).map((c) => c.stack)).not.toContain(stack);
    const restarted = await cli('stacks', 'restart', 'beta', stack);
    expect(restarted.exitCode, restarted.stderr).toBe(0);
  });

  it('alpha back, its containers restarted: the first command that reaches it fences it first, once', async () => {
    const config = parse(readFileSync(hostsFile(), 'utf8')) as { hosts: Record<string, { hostname: string }> };
    (config.hosts.alpha as { hostname: string }).hostname = hosts.alpha.host.hostname;
    writeFileSync(hostsFile(), stringify(config));
    // As its engine would at boot (restart: always), without docker-mcp.
    await sh('alpha', 'docker ps -aq --filter "label=com.docker.compose.project=$1" | xargs -r docker start >/dev/null', stack);
    const runningOnAlpha = async () => (await listContainers(hosts.alpha)).filter((c) => c.stack === stack && c.state === 'running').map((c) => c.service);
    expect((await runningOnAlpha()).length).toBeGreaterThan(0);

    // The first contact here is a monitoring check (the guests' cycle has `stacks list` as its first contact).
    const checked = await cli('standby', 'check');
    expect(checked.stderr).toContain(`fenced ${stack} on alpha (failed over to beta)`);
    expect(await runningOnAlpha()).toEqual([]);
    const policies = await sh('alpha', 'docker ps -aq --filter "label=com.docker.compose.project=$1" | xargs docker inspect --format "{{.HostConfig.RestartPolicy.Name}}"', stack);
    expect([...new Set(policies.stdout.split('\n').filter(Boolean))]).toEqual(['no']);
    // Marked as docker-mcp's doing, and in effect (zfs-fuse reports a mounted dataset's readonly as "off, temporary" even then).
    const marked = await sh('alpha', 'zfs get -H -o value docker-mcp:left-readonly "$1" "$2"', `alpha/appdata/${stack}-app`, `alpha/appdata/${stack}-db`);
    expect(marked.stdout.split('\n').filter(Boolean)).toEqual(['yes', 'yes']);
    expect((await sh('alpha', 'touch "$1/x" 2>&1; true', `/srv/alpha/appdata/${stack}-db`)).stdout).toContain('Read-only file system');
    // What alpha wrote after the pass is still there, for a failback to keep.
    expect((await sh('alpha', 'cat "$1/late.txt"', `/srv/alpha/appdata/${stack}-db`)).stdout).toBe('after-the-pass\n');
    expect(readFileSync(path.join(dir, 'standby.yml'), 'utf8')).toMatch(/fenced_at: \S+/);
    const [status] = JSON.parse((await cli('standby', 'status', '--json')).stdout) as StandbyStatus[];
    expect(status).toMatchObject({ state: 'fenced', failedOver: { snapshot: pass.confirmed?.snapshot } });

    const again = await cli('stacks', 'list', 'alpha', '--json');
    expect(again.stderr).not.toContain('fenced');
    // Listed plainly as failed over away and fenced (zfs-fuse cannot tell whether alpha diverged).
    const [row] = JSON.parse(again.stdout) as { failedOver: { stack: string; to: string; fencedAt?: string }[] }[];
    expect(row?.failedOver).toEqual([expect.objectContaining({ stack, to: 'beta', fencedAt: expect.any(String) })]);
    const text = await cli('stacks', 'list', 'alpha');
    expect(text.stdout).toMatch(new RegExp(`failed over away[^\\n]*\\n.*\\nalpha\\s+${stack}\\s+beta\\s+\\S+\\s+fenced \\(divergence unknown\\)`));
  });

  it('failback keeps what alpha wrote, sends only what beta wrote, and beta is a standby again', async () => {
    const guid = async (id: Id, dataset: string) => (await sh(id, 'zfs get -H -o value guid "$1"', dataset)).stdout.trim();
    const alphaGuids = await Promise.all(SERVICES.map((s) => guid('alpha', `alpha/appdata/${stack}-${s}`)));
    await sh('beta', 'echo written-on-beta > "$1/beta.txt"', `/srv/beta/appdata/${stack}-db`);
    await sh('beta', `docker exec ${stack}-app-1 sh -c 'echo from-beta > /uploads/beta.txt'`);

    const run = await cli('failback', stack, '--yes', '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as FailbackReport;
    expect(report).toMatchObject({ stack, from: 'beta', to: 'alpha', commonSnapshot: pass.confirmed?.snapshot, pass: { ok: true } });
    // Only the difference: both datasets incremental, far less than the 300 kB the stack holds.
    expect(report.migration.modes.filter((m) => m.includes('full'))).toEqual([]);
    expect(report.migration.bytesSent).toBeLessThan(200_000);
    // The same datasets, rolled back and brought forward: their guid kept.
    expect(await Promise.all(SERVICES.map((s) => guid('alpha', `alpha/appdata/${stack}-${s}`)))).toEqual(alphaGuids);

    // alpha's own write after the pass is kept in a dataset of its own (zfs-fuse cannot tell what was written: each is kept).
    const keptDb = report.kept.datasets.find((k) => k.dataset === `alpha/appdata/${stack}-db`)?.kept;
    expect(keptDb).toMatch(new RegExp(`^alpha/appdata/${stack}-db-kept-`));
    const keptFile = await sh('alpha', 'zfs mount "$1" && cat "$(zfs get -H -o value mountpoint "$1")/late.txt"; zfs umount "$1"', keptDb as string);
    expect(keptFile.stdout).toBe('after-the-pass\n');
    expect((await sh('alpha', 'zfs get -H -o value readonly,canmount "$1"', keptDb as string)).stdout.split('\n').filter(Boolean)).toEqual(['on', 'noauto']);
    expect(report.kept.volumes).toEqual([`${report.kept.directory}/volumes/${volume}.tar`]);
    expect((await sh('alpha', 'tar -tf "$1"', report.kept.volumes[0] as string)).stdout).toContain('page.txt');
    expect((await sh('alpha', 'ls "$1/folder"', report.kept.directory as string)).stdout).toContain('docker-compose.yml');

    // alpha runs it on what beta wrote.
    const running = (await listContainers(hosts.alpha)).filter((c) => c.stack === stack && c.state === 'running').map((c) => c.service).sort();
    expect(running).toEqual(SERVICES);
    expect((await sh('alpha', 'cat "$1/beta.txt"; ls -A "$1"', `/srv/alpha/appdata/${stack}-db`)).stdout).toMatch(/^written-on-beta\n/);
    expect((await sh('alpha', 'ls -A "$1"', `/srv/alpha/appdata/${stack}-db`)).stdout).not.toContain('late.txt');
    expect((await sh('alpha', `docker exec ${stack}_app_1 cat /uploads/beta.txt /uploads/page.txt`)).stdout).toBe('from-beta\nkept\n');
    expect((await sh('alpha', 'touch "$1/y" && echo writable', `/srv/alpha/appdata/${stack}-db`)).stdout).toBe('writable\n');

    // beta keeps the copy again: read-only, unmounted, marked; no folder or volume of the stack's there.
    const copy = await sh('beta', 'zfs get -H -o value readonly,mounted,docker-mcp:standby-of "$1"', `beta/appdata/${stack}-db`);
    expect(copy.stdout.split('\n').filter(Boolean)).toEqual(['on', 'no', `alpha/${stack}`]);
    expect((await sh('beta', 'test -e "$1" && echo there || echo gone', `/srv/beta/compose/${stack}`)).stdout).toBe('gone\n');
    expect((await sh('beta', 'docker volume ls -q')).stdout.split('\n')).not.toContain(volume);
    expect((await listContainers(hosts.beta)).filter((c) => c.stack === stack)).toEqual([]);
    expect(readFileSync(path.join(dir, 'standby.yml'), 'utf8')).not.toContain('failed_over');
    const [status] = JSON.parse((await cli('standby', 'status', '--json')).stdout) as StandbyStatus[];
    expect(status?.state).toBe('ok');
  });
});
