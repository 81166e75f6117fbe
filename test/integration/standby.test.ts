/**
 * A standby on the container testbed (alpha → beta): a declared stack's
 * datasets snapshotted at one instant, received on beta unmounted and
 * read-only, sent again incrementally, pruned to --keep, passes of one stack
 * kept apart, status and check as monitoring reads them; and a migration to
 * the standby that sends only what changed since the last pass.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { listContainers } from '../../src/docker/containers.js';
import { deployStack } from '../../src/docker/stacks.js';
import type { MigrationReport } from '../../src/migration/execute.js';
import { TEST_PAUSE_FILE_VARIABLE, TEST_PAUSE_VARIABLE } from '../../src/migration/test-crash-hook.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import type { StandbyPassRecord } from '../../src/standby/pass-state.js';
import type { StandbyStatus } from '../../src/standby/status.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { cliCommand, runCli } from './cli.js';
import { authStackFile, cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

type Id = 'alpha' | 'beta';
const hosts = {} as Record<Id, DockerHost>;
const prefix = `sby${process.pid}`;
const stack = `${prefix}-auth`;
const SERVICES = ['authelia', 'authelia-mariadb', 'authelia-redis'];
const sourceDatasets = SERVICES.map((s) => `alpha/appdata/${stack}-${s}`);
const standbyDatasets = SERVICES.map((s) => `beta/appdata/${stack}-${s}`);
const stagedFolder = `/srv/beta/compose/.docker-mcp-standby/alpha/${stack}`;
const sh = (id: Id, script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]));

let dir: string;
let env: Record<string, string>;
const cli = (...args: string[]) => runCli(['--config', path.join(dir, 'hosts.yml'), ...args], env, undefined, 300_000);

/** `name<TAB>property<TAB>value` of the datasets or snapshots named. */
async function zfsGet(id: Id, properties: string, names: readonly string[]): Promise<string[][]> {
  const listed = await hosts[id].transport.exec(command(['zfs', 'get', '-H', '-p', '-o', 'name,property,value', properties, ...names]));
  return listed.stdout.split('\n').filter(Boolean).map((line) => line.split('\t'));
}

async function standbySnapshots(id: Id, dataset: string): Promise<string[]> {
  const listed = await hosts[id].transport.exec(command(['zfs', 'list', '-H', '-t', 'snapshot', '-o', 'name', '-s', 'createtxg', '-r', dataset]));
  return listed.stdout.split('\n').filter((name) => name.includes('@docker-mcp-standby-'));
}

beforeAll(async () => {
  for (const id of ['alpha', 'beta'] as const) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-standby-'));
  copyFileSync(testbedHostsFile(), path.join(dir, 'hosts.yml'));
  env = { DOCKER_MCP_STATE_DIR: path.join(dir, 'state') };
  // The data is in datasets of its own, as a migration to alpha left it.
  const zfs = new ZfsHost(hosts.alpha.transport);
  for (const dataset of sourceDatasets) await zfs.createDataset(dataset);
  await sh('alpha', 'head -c 2000000 /dev/urandom > "$1/ibdata1"; echo "jwt: secret" > "$2/configuration.yml"', `/srv/alpha/appdata/${stack}-authelia-mariadb`, `/srv/alpha/appdata/${stack}-authelia`);
  await deployStack(hosts.alpha, stack, authStackFile(stack, 'alpha'));
}, 300_000);

afterAll(async () => {
  for (const id of ['alpha', 'beta'] as const) await cleanUpPrefix(hosts[id], id, prefix);
  await sh('beta', 'rm -rf -- "$1"', stagedFolder);
  for (const host of Object.values(hosts)) await host.transport.close();
  rmSync(dir, { recursive: true, force: true });
}, 300_000);

describe('standby alpha → beta (container testbed)', () => {
  it('check is CRITICAL for a declared stack never copied', async () => {
    const added = await cli('standby', 'add', stack, '--on', 'alpha', '--to', 'beta', '--every', '1h', '--keep', '2');
    expect(added.exitCode, added.stderr).toBe(0);
    const check = await cli('standby', 'check');
    expect(check.exitCode).toBe(2);
    expect(check.stdout).toMatch(new RegExp(`^STANDBY CRITICAL - alpha/${stack} never \\| 'alpha/${stack}_lag'=U`));
  });

  it('one pass: a snapshot of every dataset (one per command on zfs-fuse, said so), held; on beta received unmounted, read-only, not mounted at boot, same guids', async () => {
    const run = await cli('standby', 'sync', stack, '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const [record] = JSON.parse(run.stdout) as StandbyPassRecord[];
    expect(record).toMatchObject({ host: 'alpha', stack, to: 'beta', ok: true, error: null, atomic: false });
    expect(record?.datasets.map((d) => [d.sourceDataset, d.standbyDataset, d.mode])).toEqual(sourceDatasets.map((d, i) => [d, standbyDatasets[i], 'full']));
    const snapshot = record?.snapshot as string;

    // zfs-fuse has no `zfs holds`; userrefs counts a snapshot's holds.
    const holds = await zfsGet('alpha', 'userrefs', sourceDatasets.map((d) => `${d}@${snapshot}`));
    expect(holds.map(([, , value]) => value)).toEqual(['1', '1', '1']);

    const onBeta = await zfsGet('beta', 'mounted,readonly,canmount,docker-mcp:standby-of', standbyDatasets);
    for (const dataset of standbyDatasets) {
      const value = (property: string) => onBeta.find(([name, p]) => name === dataset && p === property)?.[2];
      expect([value('mounted'), value('readonly'), value('canmount'), value('docker-mcp:standby-of')], dataset).toEqual(['no', 'on', 'noauto', `alpha/${stack}`]);
    }
    const guids = async (id: Id, datasets: readonly string[]) =>
      (await zfsGet(id, 'guid', datasets.map((d) => `${d}@${snapshot}`))).map(([, , value]) => value);
    expect(await guids('beta', standbyDatasets)).toEqual(await guids('alpha', sourceDatasets));
    // Not a stack on beta: nothing runs there; its folder is staged apart, rewritten for beta and read by beta's compose.
    expect((await listContainers(hosts.beta)).filter((c) => c.name.startsWith(prefix))).toEqual([]);
    expect(record?.stagedFolder).toBe(stagedFolder);
    const composeText = (await sh('beta', 'cat "$1/docker-compose.yml"', stagedFolder)).stdout;
    expect(composeText).toContain(`/srv/beta/appdata/${stack}-authelia-mariadb:/var/lib/mysql`);
    expect(composeText).not.toContain('/srv/alpha/');

    const status = JSON.parse((await cli('standby', 'status', '--json')).stdout) as StandbyStatus[];
    expect(status).toEqual([expect.objectContaining({ host: 'alpha', stack, to: 'beta', state: 'ok', confirmedSnapshot: snapshot, lastPassOk: true })]);
    const check = await cli('standby', 'check');
    expect(check.exitCode, check.stdout).toBe(0);
    expect(check.stdout).toMatch(/^STANDBY OK - 1 stack within their interval/);
  });

  it('the next passes send only what changed; the standby keeps --keep 2 snapshots, alpha only the newest', async () => {
    const records: StandbyPassRecord[] = [];
    for (let pass = 0; pass < 2; pass++) {
      await sh('alpha', 'echo "pass $2" >> "$1/changed.txt"', `/srv/alpha/appdata/${stack}-authelia-redis`, String(pass));
      const run = await cli('standby', 'sync', `alpha/${stack}`, '--json');
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      records.push(...(JSON.parse(run.stdout) as StandbyPassRecord[]));
    }
    for (const record of records) {
      expect(record.datasets.map((d) => d.mode)).toEqual(['incremental', 'incremental', 'incremental']);
      // 2 MB of data in all; an incremental carries the few changed blocks.
      expect(record.bytes).toBeLessThan(500_000);
    }
    const newest = records[1]?.snapshot as string;
    for (const [index, dataset] of standbyDatasets.entries()) {
      const kept = await standbySnapshots('beta', dataset);
      expect(kept).toHaveLength(2);
      expect(kept[1]).toBe(`${dataset}@${newest}`);
      expect(await standbySnapshots('alpha', sourceDatasets[index] as string)).toEqual([`${sourceDatasets[index]}@${newest}`]);
    }
    expect(records[1]?.pruned.length).toBeGreaterThanOrEqual(6);
  });

  it('a pass is skipped while another pass of the stack runs (its lock held by a live process), and records nothing', async () => {
    const stateDir = path.join(dir, 'state', 'standby');
    await mkdir(stateDir, { recursive: true });
    const lock = path.join(stateDir, `alpha--${stack}.lock`);
    // This test's own process stands for the running pass: a live pid.
    writeFileSync(lock, JSON.stringify({ pid: process.pid, since: '2026-12-06T00:00:00Z' }));
    const recordFile = path.join(stateDir, `alpha--${stack}.json`);
    const recordBefore = readFileSync(recordFile, 'utf8');
    try {
      // Skipped, said so, and any other declared stack would still run (cron runs them all).
      const run = await cli('standby', 'sync', stack);
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toContain(`skipped: alpha/${stack}: a standby pass of alpha/${stack} is running (pid ${process.pid}`);
      expect(readFileSync(recordFile, 'utf8')).toBe(recordBefore);
    } finally {
      rmSync(lock);
    }
    // A lock whose process is gone is taken over.
    writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 17 }));
    const after = await cli('standby', 'sync', stack, '--json');
    expect(after.exitCode, after.stderr).toBe(0);
  });

  it('standby run: nothing due right after a pass; after a stop longer than the interval, one pass at once; SIGTERM ends the scheduler', async () => {
    const recordFile = path.join(dir, 'state', 'standby', `alpha--${stack}.json`);
    /** The last pass as if it had started `hours` ago: the controller was off since. */
    const aged = (hours: number) => {
      const record = JSON.parse(readFileSync(recordFile, 'utf8')) as StandbyPassRecord;
      writeFileSync(recordFile, JSON.stringify({ ...record, startedAt: new Date(Date.now() - hours * 3_600_000).toISOString() }));
    };
    const idle = await cli('standby', 'run', '--once', '--json');
    expect({ exitCode: idle.exitCode, stdout: idle.stdout }).toEqual({ exitCode: 0, stdout: '' });

    aged(5);
    const caughtUp = await cli('standby', 'run', '--once', '--json');
    expect(caughtUp.exitCode, caughtUp.stderr).toBe(0);
    const passes = caughtUp.stdout.trim().split('\n').map((line) => JSON.parse(line) as StandbyPassRecord);
    expect(passes.map((p) => [p.ok, p.datasets.map((d) => d.mode)])).toEqual([[true, ['incremental', 'incremental', 'incremental']]]);

    aged(5);
    const [node, argv] = cliCommand(['--config', path.join(dir, 'hosts.yml'), 'standby', 'run', '--json']);
    const scheduler = execa(node, argv, { env: { DOCKER_MCP_CONFIG: testbedHostsFile(), ...env }, reject: false });
    const firstPass = await new Promise<StandbyPassRecord>((resolve, reject) => {
      scheduler.stdout?.once('data', (chunk: Buffer) => resolve(JSON.parse(String(chunk).split('\n')[0] as string) as StandbyPassRecord));
      void scheduler.then((ended) => reject(new Error(`the scheduler ended first: ${ended.stderr}`)));
    });
    expect(firstPass.ok).toBe(true);
    scheduler.kill('SIGTERM');
    const ended = await scheduler;
    expect(ended.exitCode, ended.stderr).toBe(0);
    expect(ended.stderr).toContain('SIGTERM: stopping the scheduler');

    // The MCP server over HTTP runs the same schedule with --standby, and shows the status at /metrics behind its token.
    aged(5);
    const before = (JSON.parse(readFileSync(recordFile, 'utf8')) as StandbyPassRecord).startedAt;
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'standby-metrics-token-0123456789abcdef\n', { mode: 0o600 });
    const [serveNode, serveArgv] = cliCommand(['--config', path.join(dir, 'hosts.yml'), 'serve', '--http', '--port', '0', '--standby', '--token-file', tokenFile]);
    const server = execa(serveNode, serveArgv, { env: { DOCKER_MCP_CONFIG: testbedHostsFile(), ...env }, reject: false });
    const mcpUrl = await new Promise<string>((resolve, reject) => {
      let said = '';
      server.stderr?.on('data', (chunk: Buffer) => {
        said += String(chunk);
        const found = /listening on (http:\/\/\S+)/.exec(said);
        if (found?.[1]) resolve(found[1]);
      });
      void server.then(() => reject(new Error(`the server ended first: ${said}`)));
    });
    const metricsUrl = new URL('/metrics', mcpUrl).toString();
    expect((await fetch(metricsUrl)).status).toBe(401);
    const scrape = async () => {
      const answer = await fetch(metricsUrl, { headers: { Authorization: 'Bearer standby-metrics-token-0123456789abcdef' } });
      expect(answer.status).toBe(200);
      return answer.text();
    };
    const labels = `host="alpha",stack="${stack}",standby="beta"`;
    const until = Date.now() + 120_000;
    while ((JSON.parse(readFileSync(recordFile, 'utf8')) as StandbyPassRecord).startedAt === before && Date.now() < until) await sleep(500);
    const metrics = await scrape();
    server.kill('SIGTERM');
    const served = await server;
    expect(served.exitCode, served.stderr).toBe(0);
    const record = JSON.parse(readFileSync(recordFile, 'utf8')) as StandbyPassRecord;
    expect([record.startedAt !== before, record.ok]).toEqual([true, true]);
    expect(metrics).toContain(`docker_mcp_standby_state{${labels},state="ok"} 1`);
    expect(metrics).toContain(`docker_mcp_standby_state{${labels},state="behind"} 0`);
    expect(metrics).toContain(`docker_mcp_standby_last_pass_success{${labels}} 1`);
    expect(metrics).toContain(`docker_mcp_standby_interval_seconds{${labels}} 3600`);
    expect(metrics).toContain(`docker_mcp_standby_last_pass_timestamp_seconds{${labels}} ${Date.parse(record.finishedAt) / 1000}`);
    const lag = Number(new RegExp(`docker_mcp_standby_lag_seconds\\{${labels}\\} ([0-9.]+)`).exec(metrics)?.[1]);
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThan(120);
  });

  it('beta lists the copy as a standby copy, not as a stack, and refuses to deploy, up or restart the stack there, saying why', async () => {
    const listed = await cli('stacks', 'list', 'beta', '--json');
    expect(listed.exitCode, listed.stderr).toBe(0);
    const [row] = JSON.parse(listed.stdout) as { ok: boolean; value: { name: string }[]; standbyCopies: { stack: string; of: string; confirmed: { snapshot: string } | null }[] }[];
    expect(row?.value.map((s) => s.name)).not.toContain(stack);
    expect(row?.standbyCopies.map((c) => [c.stack, c.of, c.confirmed?.snapshot.startsWith('docker-mcp-standby-')])).toEqual([[stack, 'alpha', true]]);
    const text = await cli('stacks', 'list', 'beta');
    expect(text.stdout).toMatch(new RegExp(`standby copies[^\n]*\n.*\nbeta +${stack} +alpha/${stack} +\\d{4}-`));

    writeFileSync(path.join(dir, 'compose.yml'), authStackFile(stack, 'beta'));
    for (const args of [['deploy', 'beta', stack, '-f', path.join(dir, 'compose.yml'), '--yes'], ['up', 'beta', stack], ['restart', 'beta', stack]]) {
      const refused = await cli('stacks', ...args);
      expect(refused.exitCode, args.join(' ')).toBe(2);
      expect(refused.stderr).toContain(`beta keeps the standby copy of alpha/${stack}`);
      expect(refused.stderr).toContain(`docker-mcp migrate alpha beta ${stack}`);
    }
    // Nothing was written or started on beta.
    expect((await sh('beta', 'ls -A /srv/beta/compose')).stdout).not.toContain(stack);
    expect((await listContainers(hosts.beta)).filter((c) => c.stack === stack)).toEqual([]);
  });

  it("a move to the standby that fails after its final sync is rolled back: beta's copies are standby copies again, and the next pass goes on from them", async () => {
    // Paused at the verification: the final sync has made beta's copies the stack's (writable, mounted, unmarked).
    const pauseFile = path.join(dir, 'paused-at-verify');
    const migrating = runCli(['--config', path.join(dir, 'hosts.yml'), 'migrate', 'alpha', 'beta', stack], { ...env, [TEST_PAUSE_VARIABLE]: 'verify', [TEST_PAUSE_FILE_VARIABLE]: pauseFile }, undefined, 300_000);
    for (let i = 0; i < 600 && !existsSync(pauseFile); i++) await sleep(100);
    expect(existsSync(pauseFile), 'the migration paused at its verification').toBe(true);
    const live = await zfsGet('beta', 'mounted,docker-mcp:standby-of', standbyDatasets);
    expect(live.filter(([, p]) => p === 'mounted').map(([, , v]) => v)).toEqual(standbyDatasets.map(() => 'yes'));
    expect(live.filter(([, p]) => p === 'docker-mcp:standby-of').map(([, , v]) => v)).toEqual(standbyDatasets.map(() => '-'));
    // What a start there would write: the verification finds it, and the migration fails.
    await sh('beta', 'echo stray > "$1/stray.txt"', `/srv/beta/appdata/${stack}-authelia-redis`);
    rmSync(pauseFile, { force: true });
    const run = await migrating;
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain(`failed at verify: data of ${stack}-authelia-redis differs on beta`);
    // zfs-fuse cannot tell what was written since the final snapshot (no written@): the next pass's receive rolls back the stray file.
    for (const dataset of standbyDatasets) expect(run.stderr).toContain(`made beta:${dataset} a standby copy of alpha/${stack} again`);
    const restored = await zfsGet('beta', 'mounted,readonly,canmount,docker-mcp:standby-of', standbyDatasets);
    for (const dataset of standbyDatasets) {
      const value = (property: string) => restored.find(([name, p]) => name === dataset && p === property)?.[2];
      expect([value('mounted'), value('readonly'), value('canmount'), value('docker-mcp:standby-of')], dataset).toEqual(['no', 'on', 'noauto', `alpha/${stack}`]);
    }
    expect((await listContainers(hosts.alpha)).filter((c) => c.stack === stack && c.state === 'running')).toHaveLength(3);
    const pass = await cli('standby', 'sync', stack, '--json');
    expect(pass.exitCode, pass.stderr).toBe(0);
    const afterPass = await zfsGet('beta', 'mounted,docker-mcp:standby-of', standbyDatasets);
    expect(afterPass.filter(([, p]) => p === 'mounted').map(([, , v]) => v)).toEqual(standbyDatasets.map(() => 'no'));
    expect(afterPass.filter(([, p]) => p === 'docker-mcp:standby-of').map(([, , v]) => v)).toEqual(standbyDatasets.map(() => `alpha/${stack}`));
  });

  it('migrate to the standby seeds from the last pass (incremental, nothing sent in full) and the stack runs on beta on writable datasets', async () => {
    // Paused at its stop, after the seed: beta's copies are still standby copies, so a migration that ended here would leave the standby as it was.
    const pauseFile = path.join(dir, 'paused-at-stop');
    const migrating = runCli(['--config', path.join(dir, 'hosts.yml'), 'migrate', 'alpha', 'beta', stack, '--json'], { ...env, [TEST_PAUSE_VARIABLE]: 'stop', [TEST_PAUSE_FILE_VARIABLE]: pauseFile }, undefined, 300_000);
    for (let i = 0; i < 600 && !existsSync(pauseFile); i++) await sleep(100);
    expect(existsSync(pauseFile), 'the migration paused at its stop').toBe(true);
    const seeded = await zfsGet('beta', 'mounted,readonly,docker-mcp:standby-of', standbyDatasets);
    expect(seeded.filter(([, p]) => p === 'mounted').map(([, , v]) => v)).toEqual(standbyDatasets.map(() => 'no'));
    expect(seeded.filter(([, p]) => p === 'readonly').map(([, , v]) => v)).toEqual(standbyDatasets.map(() => 'on'));
    expect(seeded.filter(([, p]) => p === 'docker-mcp:standby-of').map(([, , v]) => v)).toEqual(standbyDatasets.map(() => `alpha/${stack}`));
    rmSync(pauseFile, { force: true });
    const run = await migrating;
    expect(run.exitCode, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as MigrationReport & { standbyNote?: string };
    expect(report.seed?.results.map((r) => r.mode)).toEqual(['incremental', 'incremental', 'incremental']);
    // The copy is the stack now: its declaration is gone, and beta may start it.
    expect(report.standbyNote).toContain(`beta kept ${stack}'s standby copy and now runs it`);
    expect((await cli('standby', 'list', '--json')).stdout).not.toContain(stack);
    const restarted = await cli('stacks', 'restart', 'beta', stack);
    expect(restarted.exitCode, restarted.stderr).toBe(0);
    const onBeta = await zfsGet('beta', 'mounted,readonly,canmount,docker-mcp:standby-of', standbyDatasets);
    for (const dataset of standbyDatasets) {
      const value = (property: string) => onBeta.find(([name, p]) => name === dataset && p === property)?.[2];
      expect([value('mounted'), value('readonly'), value('canmount'), value('docker-mcp:standby-of')], dataset).toEqual(['yes', 'off', 'on', '-']);
    }
    const running = (await listContainers(hosts.beta)).filter((c) => c.stack === stack && c.state === 'running');
    expect(running).toHaveLength(3);
    expect((await sh('beta', 'cat "$1/changed.txt"', `/srv/beta/appdata/${stack}-authelia-redis`)).stdout).toBe('pass 0\npass 1\n');
    expect((await sh('beta', 'test -e "$1" && echo present || echo gone', stagedFolder)).stdout.trim()).toBe('gone');
  });
});
