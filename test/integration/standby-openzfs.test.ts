/**
 * A standby on OpenZFS 2.3 (delta → epsilon, a sudo login): the stack's
 * datasets snapshotted by one `zfs snapshot` naming them all, received with
 * `-u` and kept unmounted and read-only, then an incremental pass. The stack
 * is not started: a pass reads it as compose resolves it from its folder.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import type { StandbyPassRecord } from '../../src/standby/pass-state.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { cliCommand, runCli } from './cli.js';
import { cleanUpGuests, GUEST_APPDATA, GUEST_COMPOSE, guestSh, openGuests, type Guest } from './guests.js';

const prefix = `sbo${process.pid}`;
const stack = `${prefix}-notes`;
const SERVICES = ['app', 'db'];
const sourceDatasets = SERVICES.map((s) => `tank/appdata/${stack}-${s}`);
let hosts: Record<Guest, DockerHost>;
let dir: string;
const TIMEOUT_MS = 600_000;
const stagedFolder = `${GUEST_COMPOSE.epsilon}/.docker-mcp-standby/delta/${stack}`;

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

const composeFile = (appdata: string) => `services:
${SERVICES.map((s) => `  ${s}:
    image: local/busybox:test
    command: ["sleep", "3600"]
    network_mode: none
    volumes:
      - ${appdata}/${stack}-${s}:/data
`).join('')}`;

beforeAll(async () => {
  hosts = await openGuests();
  dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-standby-openzfs-'));
  copyFileSync(testbedHostsFile(), path.join(dir, 'hosts.yml'));
  const zfs = new ZfsHost(hosts.delta.transport);
  for (const dataset of sourceDatasets) await zfs.createDataset(dataset);
  const made = await guestSh(
    hosts.delta,
    'set -e; mkdir -p "$2/$3"; printf "%s" "$4" > "$2/$3/compose.yaml"; head -c 1000000 /dev/urandom > "$1/$3-db/pages.bin"; echo "key: value" > "$1/$3-app/config.yml"',
    GUEST_APPDATA.delta,
    GUEST_COMPOSE.delta,
    stack,
    composeFile(GUEST_APPDATA.delta),
  );
  expect(made.exitCode, made.stderr).toBe(0);
}, TIMEOUT_MS);

afterAll(async () => {
  await cleanUpGuests(hosts, prefix);
  await guestSh(hosts.epsilon, 'rm -rf -- "$1"', stagedFolder);
  for (const host of Object.values(hosts)) await host.transport.close();
  rmSync(dir, { recursive: true, force: true });
}, TIMEOUT_MS);

describe('standby delta → epsilon on OpenZFS 2.3', () => {
  it('takes one atomic snapshot of both datasets, receives them with -u, and keeps them unmounted and read-only on epsilon; the next pass is incremental', async () => {
    const added = await cli('standby', 'add', stack, '--on', 'delta', '--to', 'epsilon', '--keep', '2');
    expect(added.exitCode, added.stderr).toBe(0);

    const first = await cli('standby', 'sync', stack, '--json');
    expect(first.exitCode, first.stdout + first.stderr.slice(-2000)).toBe(0);
    const [record] = JSON.parse(first.stdout) as StandbyPassRecord[];
    expect(record).toMatchObject({ ok: true, atomic: true });
    expect(record?.datasets.map((d) => d.mode)).toEqual(['full', 'full']);
    const snapshot = record?.snapshot as string;
    const snapshotCommands = commandsOn(first.stderr, 'delta').filter((line) => /\bzfs snapshot\b/.test(line));
    expect(snapshotCommands).toHaveLength(1);
    expect(snapshotCommands[0]).toContain(`zfs snapshot ${sourceDatasets.map((d) => `${d}@${snapshot}`).join(' ')} && zfs hold docker-mcp`);
    const receives = commandsOn(first.stderr, 'epsilon').concat(commandsOn(first.stderr, 'delta')).filter((line) => /zfs receive/.test(line));
    expect(receives.length).toBeGreaterThanOrEqual(2);
    for (const line of receives) expect(line).toMatch(/zfs receive (-s )?-u /);

    const onEpsilon = await guestSh(
      hosts.epsilon,
      'zfs get -H -o name,property,value mounted,readonly,canmount,docker-mcp:standby-of "$@"',
      ...sourceDatasets,
    );
    expect(onEpsilon.stdout.split('\n').filter(Boolean).map((line) => line.split('\t').slice(1).join('='))).toEqual(
      sourceDatasets.flatMap(() => ['mounted=no', 'readonly=on', 'canmount=noauto', `docker-mcp:standby-of=delta/${stack}`]),
    );
    const guids = async (id: Guest) => (await guestSh(hosts[id], 'zfs get -H -o value guid "$@"', ...sourceDatasets.map((d) => `${d}@${snapshot}`))).stdout;
    expect(await guids('epsilon')).toBe(await guids('delta'));
    // The folder is staged apart on epsilon (a sudo login), rewritten for epsilon's appdata and read back by its compose v2.
    expect(record?.stagedFolder).toBe(stagedFolder);
    const staged = await guestSh(hosts.epsilon, 'cat "$1/compose.yaml"', stagedFolder);
    expect(staged.stdout).toContain(`${GUEST_APPDATA.epsilon}/${stack}-db:/data`);
    expect(staged.stdout).not.toContain(`${GUEST_APPDATA.delta}/`);

    await guestSh(hosts.delta, 'echo more >> "$1/config.yml"', `${GUEST_APPDATA.delta}/${stack}-app`);
    const second = await cli('standby', 'sync', stack, '--json');
    expect(second.exitCode, second.stdout).toBe(0);
    const [next] = JSON.parse(second.stdout) as StandbyPassRecord[];
    expect(next?.datasets.map((d) => d.mode)).toEqual(['incremental', 'incremental']);
    expect(next?.bytes).toBeLessThan(200_000);

    // Nothing written since: one command on each host proves it, nothing is sent or snapshotted, and the copy counts as of now.
    const third = await cli('standby', 'sync', stack, '--json');
    expect(third.exitCode, third.stdout + third.stderr.slice(-2000)).toBe(0);
    const [idle] = JSON.parse(third.stdout) as StandbyPassRecord[];
    expect(idle).toMatchObject({ ok: true, unchanged: true, bytes: 0, snapshot: next?.snapshot });
    expect(idle?.datasets.map((d) => d.mode)).toEqual(['up-to-date', 'up-to-date']);
    expect(Date.parse(idle?.confirmed?.at as string)).toBeGreaterThan(Date.parse(next?.confirmed?.at as string));
    expect(commandsOn(third.stderr, 'delta')).toHaveLength(1);
    expect(commandsOn(third.stderr, 'epsilon')).toHaveLength(1);
  }, TIMEOUT_MS);

  it('a pass killed mid-stream is resumed by the next one from the receive_resume_token, which then completes it', async () => {
    const db = `${GUEST_APPDATA.delta}/${stack}-db`;
    const dbDataset = `tank/appdata/${stack}-db`;
    await guestSh(hosts.delta, 'head -c 12000000 /dev/urandom > "$1/big.bin"', db);
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
    const newest = `${dbDataset}@${record?.snapshot}`;
    const guid = async (id: Guest) => (await guestSh(hosts[id], 'zfs get -H -o value guid "$1"', newest)).stdout.trim();
    expect(await guid('epsilon')).toBe(await guid('delta'));
    expect((await guestSh(hosts.epsilon, 'zfs get -H -o value receive_resume_token "$1"', dbDataset)).stdout.trim()).toBe('-');
  }, TIMEOUT_MS);
});

