/**
 * A standby on OpenZFS 2.3 (delta → epsilon, a sudo login) of a three-service
 * stack running on delta, one service writing into its data path: the
 * stack's datasets snapshotted by one `zfs snapshot` naming them all,
 * received with `-u` and kept unmounted and read-only, then an incremental
 * pass that prunes on delta only what epsilon confirmed, then a pass with
 * nothing written (the writer paused) that is one command per host. A pass
 * killed mid-stream is resumed by the next. Last, a migration onto the
 * standby while the writer writes sends only what changed since the last
 * pass, runs the stack on epsilon with every line delta wrote, and ends the
 * standby's declaration and what its passes staged.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import type { MigrationReport } from '../../src/migration/execute.js';
import type { StandbyPassRecord } from '../../src/standby/pass-state.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { cliCommand, runCli } from './cli.js';
import { cleanUpGuests, GUEST_APPDATA, GUEST_COMPOSE, guestSh, openGuests, type Guest } from './guests.js';

const prefix = `sbo${process.pid}`;
const stack = `${prefix}-notes`;
/** In compose's order; app writes a line a second into its data path (every write forks in the emulated guest) until /data/.pause exists. */
const SERVICES = ['app', 'cache', 'db'];
const sourceDatasets = SERVICES.map((s) => `tank/appdata/${stack}-${s}`);
let hosts: Record<Guest, DockerHost>;
let dir: string;
const TIMEOUT_MS = 600_000;
const stagedFolder = `${GUEST_COMPOSE.epsilon}/.docker-mcp-standby/delta/${stack}`;
const appData = `${GUEST_APPDATA.delta}/${stack}-app`;
/** The last pass's record: the migration's seed starts from its snapshot. */
let lastPass: StandbyPassRecord | undefined;

const cli = (...args: string[]) =>
  runCli(['--config', path.join(dir, 'hosts.yml'), ...args], { DOCKER_MCP_STATE_DIR: path.join(dir, 'state'), DOCKER_MCP_LOG_LEVEL: 'debug' }, undefined, 300_000);

/** The command lines the CLI ran on a host (commands and streams), from its debug log. */
function commandsOn(stderr: string, host: Guest): string[] {
  return stderr
    .split('\n')
    .flatMap((line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; host?: string; command?: string };
        return (entry.msg === 'ssh exec' || entry.msg === 'ssh stream') && entry.host === host && entry.command ? [entry.command] : [];
      } catch {
        return [];
      }
    });
}

const WRITER = '["sh", "-c", "while true; do [ -e /data/.pause ] || date >> /data/log; sleep 1; done"]';
const composeFile = (appdata: string) => `services:
${SERVICES.map((s) => `  ${s}:
    image: local/busybox:test
    command: ${s === 'app' ? WRITER : '["sleep", "3600"]'}
    network_mode: none
    init: true
    volumes:
      - ${appdata}/${stack}-${s}:/data
`).join('')}`;

/** The services of the stack running on a guest. */
async function running(id: Guest): Promise<string[]> {
  const listed = await guestSh(hosts[id], 'docker ps --filter "label=com.docker.compose.project=$1" --format "{{.Label \\"com.docker.compose.service\\"}}"', stack);
  return listed.stdout.split('\n').filter(Boolean).sort();
}

beforeAll(async () => {
  hosts = await openGuests();
  dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-standby-openzfs-'));
  copyFileSync(testbedHostsFile(), path.join(dir, 'hosts.yml'));
  const zfs = new ZfsHost(hosts.delta.transport);
  for (const dataset of sourceDatasets) await zfs.createDataset(dataset);
  const made = await guestSh(
    hosts.delta,
    'set -e; mkdir -p "$2/$3"; printf "%s" "$4" > "$2/$3/compose.yaml"; head -c 1000000 /dev/urandom > "$1/$3-db/pages.bin"; echo "key: value" > "$1/$3-app/config.yml"; echo warm > "$1/$3-cache/dump.rdb"; cd "$2/$3" && docker compose up -d --quiet-pull 2>&1',
    GUEST_APPDATA.delta,
    GUEST_COMPOSE.delta,
    stack,
    composeFile(GUEST_APPDATA.delta),
  );
  expect(made.exitCode, made.stdout + made.stderr).toBe(0);
}, TIMEOUT_MS);

afterAll(async () => {
  await cleanUpGuests(hosts, prefix);
  await guestSh(hosts.epsilon, 'rm -rf -- "$1"', stagedFolder);
  for (const host of Object.values(hosts)) await host.transport.close();
  rmSync(dir, { recursive: true, force: true });
}, TIMEOUT_MS);

/**
 * Every dataset's standby snapshots on each guest, oldest first, after
 * checking that `newest` is the newest on both with one guid: what the next
 * pass (or a migration) sends from, so pruning must never take it.
 */
async function keptSnapshots(newest: string): Promise<Record<Guest, string[][]>> {
  const listed = async (id: Guest) =>
    (await guestSh(hosts[id], 'zfs list -H -p -o name,guid -t snapshot -s createtxg "$@"', ...sourceDatasets)).stdout
      .split('\n')
      .filter((line) => line.includes('@docker-mcp-standby-'))
      .map((line) => line.split('\t') as [string, string]);
  const [onDelta, onEpsilon] = await Promise.all([listed('delta'), listed('epsilon')]);
  const kept = { delta: [], epsilon: [] } as Record<Guest, string[][]>;
  for (const dataset of sourceDatasets) {
    const of = (lines: [string, string][]) => lines.filter(([name]) => name.startsWith(`${dataset}@`));
    const [deltaNewest, epsilonNewest] = [of(onDelta).at(-1), of(onEpsilon).at(-1)];
    expect(deltaNewest?.[0], dataset).toBe(`${dataset}@${newest}`);
    expect(epsilonNewest, dataset).toEqual(deltaNewest);
    kept.delta.push(of(onDelta).map(([name]) => name.split('@')[1] as string));
    kept.epsilon.push(of(onEpsilon).map(([name]) => name.split('@')[1] as string));
  }
  return kept;
}

describe('standby delta → epsilon on OpenZFS 2.3', () => {
  it('takes one atomic snapshot of the running stack\'s three datasets, receives them with -u, and keeps them unmounted and read-only on epsilon; the next pass is incremental and prunes only what epsilon confirmed; a pass with nothing written is one command per host', async () => {
    const [added, runningOnDelta] = await Promise.all([cli('standby', 'add', stack, '--on', 'delta', '--to', 'epsilon', '--keep', '2'), running('delta')]);
    expect(added.exitCode, added.stderr).toBe(0);
    expect(runningOnDelta).toEqual(SERVICES);

    const first = await cli('standby', 'sync', stack, '--json');
    expect(first.exitCode, first.stdout + first.stderr.slice(-2000)).toBe(0);
    const [record] = JSON.parse(first.stdout) as StandbyPassRecord[];
    expect(record).toMatchObject({ ok: true, atomic: true, pruned: [] });
    expect(record?.datasets.map((d) => d.mode)).toEqual(['full', 'full', 'full']);
    const snapshot = record?.snapshot as string;
    const snapshotCommands = commandsOn(first.stderr, 'delta').filter((line) => /\bzfs snapshot\b/.test(line));
    expect(snapshotCommands).toHaveLength(1);
    expect(snapshotCommands[0]).toContain(`zfs snapshot ${sourceDatasets.map((d) => `${d}@${snapshot}`).join(' ')} && zfs hold docker-mcp`);
    const receives = commandsOn(first.stderr, 'epsilon').concat(commandsOn(first.stderr, 'delta')).filter((line) => /zfs receive/.test(line));
    expect(receives.length).toBeGreaterThanOrEqual(3);
    for (const line of receives) expect(line).toMatch(/zfs receive (-s )?-u /);

    const onEpsilon = await guestSh(
      hosts.epsilon,
      'zfs get -H -o name,property,value mounted,readonly,canmount,docker-mcp:standby-of "$@"',
      ...sourceDatasets,
    );
    expect(onEpsilon.stdout.split('\n').filter(Boolean).map((line) => line.split('\t').slice(1).join('='))).toEqual(
      sourceDatasets.flatMap(() => ['mounted=no', 'readonly=on', 'canmount=noauto', `docker-mcp:standby-of=delta/${stack}`]),
    );
    expect(await keptSnapshots(snapshot)).toEqual({ delta: SERVICES.map(() => [snapshot]), epsilon: SERVICES.map(() => [snapshot]) });
    // The folder is staged apart on epsilon (a sudo login), rewritten for epsilon's appdata and read back by its compose v2.
    expect(record?.stagedFolder).toBe(stagedFolder);
    const staged = await guestSh(hosts.epsilon, 'cat "$1/compose.yaml"', stagedFolder);
    expect(staged.stdout).toContain(`${GUEST_APPDATA.epsilon}/${stack}-db:/data`);
    expect(staged.stdout).not.toContain(`${GUEST_APPDATA.delta}/`);

    // The writer wrote on during the first pass; it stops now, and the pause file is the last thing the second pass takes (a write under way ends within the second).
    await guestSh(hosts.delta, 'touch "$1/.pause" && sleep 1', appData);
    const second = await cli('standby', 'sync', stack, '--json');
    expect(second.exitCode, second.stdout + second.stderr.slice(-2000)).toBe(0);
    const [next] = JSON.parse(second.stdout) as StandbyPassRecord[];
    expect(next?.datasets.map((d) => d.mode)).toEqual(['incremental', 'incremental', 'incremental']);
    expect(next?.datasets.find((d) => d.sourceDataset === sourceDatasets[0])?.bytes).toBeGreaterThan(0);
    expect(next?.bytes).toBeLessThan(200_000);
    // Confirmed on epsilon, the second snapshot is delta's only one: the first goes there, and epsilon keeps both (--keep 2).
    const newest = next?.snapshot as string;
    expect([...(next?.pruned ?? [])].sort()).toEqual(sourceDatasets.map((d) => `delta:${d}@${snapshot}`).sort());
    const keptAfterSecond = await keptSnapshots(newest);
    expect(keptAfterSecond).toEqual({ delta: SERVICES.map(() => [newest]), epsilon: SERVICES.map(() => [snapshot, newest]) });

    // Nothing written since: one command on each host proves it, nothing is sent, snapshotted or pruned, and the copy counts as of now.
    const third = await cli('standby', 'sync', stack, '--json');
    expect(third.exitCode, third.stdout + third.stderr.slice(-2000)).toBe(0);
    const [idle] = JSON.parse(third.stdout) as StandbyPassRecord[];
    expect(idle).toMatchObject({ ok: true, unchanged: true, bytes: 0, snapshot: newest, pruned: [] });
    expect(idle?.datasets.map((d) => d.mode)).toEqual(['up-to-date', 'up-to-date', 'up-to-date']);
    expect(Date.parse(idle?.confirmed?.at as string)).toBeGreaterThan(Date.parse(next?.confirmed?.at as string));
    expect(commandsOn(third.stderr, 'delta')).toHaveLength(1);
    expect(commandsOn(third.stderr, 'epsilon')).toHaveLength(1);
    expect(await keptSnapshots(newest)).toEqual(keptAfterSecond);
  }, TIMEOUT_MS);

  it('a pass killed mid-stream is resumed by the next one from the receive_resume_token, which then completes it', async () => {
    const db = `${GUEST_APPDATA.delta}/${stack}-db`;
    const dbDataset = `tank/appdata/${stack}-db`;
    // The writer writes again, through this pass and the migration after it.
    await guestSh(hosts.delta, 'rm -f "$2/.pause"; head -c 12000000 /dev/urandom > "$1/big.bin"', db, appData);
    // 12 MB at 1 MiB/s: the kill lands mid-stream however fast the guests run.
    const [node, argv] = cliCommand(['--config', path.join(dir, 'hosts.yml'), 'standby', 'sync', stack, '--bwlimit', '1M', '--json']);
    const child = execa(node, argv, { reject: false, detached: true, env: { DOCKER_MCP_CONFIG: testbedHostsFile(), DOCKER_MCP_STATE_DIR: path.join(dir, 'state') } });
    let receiving = false;
    // A pass that ended by itself (it sent nothing, or failed) is not waited for.
    for (let i = 0; i < 600 && !receiving && child.exitCode === null; i++) {
      receiving = (await guestSh(hosts.epsilon, 'pgrep -f "zfs [r]eceive.*$1" >/dev/null', dbDataset)).exitCode === 0;
      if (!receiving) await sleep(250);
    }
    expect(receiving, `the pass began receiving on epsilon (exit code if it ended: ${child.exitCode})`).toBe(true);
    await sleep(3000);
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    await guestSh(hosts.delta, 'for pid in $(pgrep -f "zfs [s]end.*$1"); do kill "$pid"; done; true', dbDataset);
    for (let i = 0; i < 60 && (await guestSh(hosts.epsilon, 'pgrep -f "zfs [r]eceive.*$1" >/dev/null', dbDataset)).exitCode === 0; i++) await sleep(500);
    let token = '-';
    for (let i = 0; i < 40 && token === '-'; i++) {
      token = (await guestSh(hosts.epsilon, 'zfs get -H -o value receive_resume_token "$1"', dbDataset)).stdout.trim();
      if (token === '-') await sleep(500);
    }
    expect(token).toMatch(/^1-/);

    // The dead pass's lock is taken over; its partial stream goes on from the token, not from the start.
    const next = await cli('standby', 'sync', stack, '--json');
    expect(next.exitCode, next.stdout + next.stderr.slice(-2000)).toBe(0);
    const [record] = JSON.parse(next.stdout) as StandbyPassRecord[];
    expect(record?.ok).toBe(true);
    expect(record?.datasets.find((d) => d.standbyDataset === dbDataset), JSON.stringify(record?.datasets)).toMatchObject({ resumed: true, error: null });
    expect((await guestSh(hosts.epsilon, 'zfs get -H -o value receive_resume_token "$1"', dbDataset)).stdout.trim()).toBe('-');
    // Every dataset's newest snapshot is on both guests with one guid; delta keeps only it (the dead pass's went too), epsilon the newest two.
    const newest = record?.snapshot as string;
    const kept = await keptSnapshots(newest);
    expect(kept.delta).toEqual(SERVICES.map(() => [newest]));
    for (const snapshots of kept.epsilon) expect(snapshots.slice(1)).toEqual([newest]);
    expect(kept.epsilon.map((snapshots) => snapshots.length)).toEqual(SERVICES.map(() => 2));
    lastPass = record;
  }, TIMEOUT_MS);

  it('migrate delta epsilon while the writer writes: seeded incrementally from the last pass, only what changed is sent, the stack runs on epsilon with every line delta wrote, and the standby is ended', async () => {
    const base = lastPass?.confirmed?.snapshot as string;
    expect(base).toBe(lastPass?.snapshot);
    const run = await runCli(
      ['--config', path.join(dir, 'hosts.yml'), 'migrate', 'delta', 'epsilon', stack, '--json'],
      { DOCKER_MCP_STATE_DIR: path.join(dir, 'state'), DOCKER_MCP_LOG_LEVEL: 'debug' },
      undefined,
      TIMEOUT_MS,
    );
    expect(run.exitCode, run.stdout + run.stderr.slice(-3000)).toBe(0);
    const report = JSON.parse(run.stdout) as MigrationReport & { standbyNote?: string };
    expect(report.mode).toBe('low-downtime');
    expect(report.seed?.results.map((r) => r.mode)).toEqual(['incremental', 'incremental', 'incremental']);
    expect(report.final.results.map((r) => r.mode)).toEqual(['incremental', 'incremental', 'incremental']);
    // The seed sends from the snapshot the last pass left on both guests; only the writer's lines since go, not the 13 MB.
    const sends = commandsOn(run.stderr, 'delta').filter((line) => /\bzfs send\b/.test(line));
    for (const dataset of sourceDatasets) expect(sends.some((line) => line.includes(` -i ${dataset}@${base} `)), `${dataset}: ${sends.join('\n')}`).toBe(true);
    expect(sends.some((line) => / -t /.test(line) || !/ -i /.test(line)), sends.join('\n')).toBe(false);
    expect((report.seed?.bytes ?? Infinity) + report.final.bytes).toBeLessThan(2_000_000);

    expect(await Promise.all([running('epsilon'), running('delta')])).toEqual([SERVICES, []]);
    // Every line delta's writer wrote before the stop is on epsilon, in order, and the data with it.
    const onDelta = (await guestSh(hosts.delta, 'wc -l < "$1/log"; sha256sum < "$1/log"; sha256sum < "$2/big.bin"', appData, `${GUEST_APPDATA.delta}/${stack}-db`)).stdout.split('\n');
    const lines = Number(onDelta[0]);
    expect(lines).toBeGreaterThan(0);
    const epsilonData = (s: string) => `${GUEST_APPDATA.epsilon}/${stack}-${s}`;
    const [data, properties, staged] = await Promise.all([
      guestSh(hosts.epsilon, 'head -n "$1" "$2/log" | sha256sum; sha256sum < "$3/big.bin"; wc -l < "$2/log"', String(lines), epsilonData('app'), epsilonData('db')),
      guestSh(hosts.epsilon, 'zfs get -H -o value mounted,readonly,canmount,docker-mcp:standby-of "$@"', ...sourceDatasets),
      guestSh(hosts.epsilon, 'test -e "$1" && echo present || echo gone', stagedFolder),
    ]);
    const onEpsilon = data.stdout.split('\n');
    expect(onEpsilon.slice(0, 2)).toEqual(onDelta.slice(1, 3));
    expect(Number(onEpsilon[2])).toBeGreaterThanOrEqual(lines);
    // Writable and mounted now, no longer marked a standby copy.
    expect(properties.stdout.split('\n').filter(Boolean)).toEqual(sourceDatasets.flatMap(() => ['yes', 'off', 'on', '-']));

    // The copy is the stack now: its declaration is gone, and so is what the passes staged on epsilon.
    expect(report.standbyNote).toContain(`epsilon kept ${stack}'s standby copy and now runs it: its standby declaration is removed`);
    expect(readFileSync(path.join(dir, 'standby.yml'), 'utf8')).not.toContain(stack);
    expect(staged.stdout.trim()).toBe('gone');
  }, TIMEOUT_MS);
});
