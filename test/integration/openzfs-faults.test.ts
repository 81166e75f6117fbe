/**
 * Faults that only real OpenZFS shows, on the QEMU guests (delta → epsilon):
 * the tool killed while the seed streams (a receive_resume_token is left),
 * a pruner destroying the seed snapshot between the seed and the final sync,
 * and an encrypted source dataset. One small stack each; the guests are slow.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import { listContainers } from '../../src/docker/containers.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { deployStack } from '../../src/docker/stacks.js';
import { migrateStack } from '../../src/migration/execute.js';
import { listMigrations } from '../../src/migration/journal.js';
import type { ResumeOutcome } from '../../src/migration/resume.js';
import { asRoot, command } from '../../src/ssh/quote.js';
import { sshArgvFromSource } from '../../src/transfer/source-to-target-ssh.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { cliCommand, runCli } from './cli.js';
import { cleanUpGuests, GUEST_APPDATA, guestSh, openGuests, type Guest } from './guests.js';

const P = `h11b-f${process.pid}`;
const APPDATA = GUEST_APPDATA;
let hosts: Record<Guest, DockerHost>;
const stateDir = mkdtempSync(path.join(os.tmpdir(), 'h11b-oz-faults-'));
const journalDir = path.join(stateDir, 'migrations');
const TIMEOUT_MS = 900_000;

const sh = (id: Guest, script: string, ...args: string[]) => guestSh(hosts[id], script, ...args);

/** A command on a guest from inside a synchronous progress callback: before the phase acts. */
function shNow(host: HostConfig, script: string, ...args: string[]): { status: number | null; stderr: string } {
  const remote = command(['sh', '-c', script, 'sh', ...args]);
  const result = spawnSync('ssh', [...sshArgvFromSource(host).slice(1), '--', host.hostname, (host.sudo ? asRoot(remote) : remote).text], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stderr: result.stderr };
}

/** One service whose data is the dataset tank/appdata/<stack>-app, with `megabytes` of random data. */
async function deployOneService(stack: string, megabytes: number, createOptions: string[] = []): Promise<string> {
  const dataset = `tank/appdata/${stack}-app`;
  const dir = `${APPDATA.delta}/${stack}-app`;
  const made = await sh('delta', 'set -e; ds="$1"; dir="$2"; mb="$3"; shift 3; zfs create "$@" "$ds"; head -c "$((mb * 1048576))" /dev/urandom > "$dir/blob"; echo row > "$dir/table"', dataset, dir, String(megabytes), ...createOptions);
  expect(made.stderr).toBe('');
  await deployStack(hosts.delta, stack, `services:\n  app:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n    init: true\n    volumes:\n      - ${dir}:/data\n`);
  return dataset;
}

async function running(stack: string): Promise<Record<Guest, number>> {
  const count = async (id: Guest) => (await listContainers(hosts[id])).filter((c) => c.stack === stack && c.state === 'running').length;
  return { delta: await count('delta'), epsilon: await count('epsilon') };
}

beforeAll(async () => {
  hosts = await openGuests();
  await cleanUpGuests(hosts, P);
}, 300_000);

afterAll(async () => {
  await cleanUpGuests(hosts, P);
  await sh('delta', 'rm -f /root/h11b-fault-key');
  for (const host of Object.values(hosts)) await host.transport.close();
  rmSync(stateDir, { recursive: true, force: true });
}, 300_000);

describe('migration faults on OpenZFS', () => {
  it('the tool is killed while the seed streams: migrate --resume continues from the receive_resume_token', async () => {
    const stack = `${P}-seedkill`;
    // 24 MiB at 2 MiB/s: the kill lands mid-stream however fast the guests run; the resume keeps the limit (journalled).
    const dataset = await deployOneService(stack, 24);
    const child = execa(...cliCommand(['migrate', 'delta', 'epsilon', stack, '--json', '--bwlimit', '2M']), {
      reject: false,
      detached: true,
      env: { DOCKER_MCP_CONFIG: testbedHostsFile(), DOCKER_MCP_STATE_DIR: stateDir },
    });
    // Once the seed's receive runs on epsilon ([r]: not this pgrep itself), let it take in some data, then kill the tool and its ssh processes.
    let receiving = false;
    for (let i = 0; i < 600 && !receiving; i++) {
      receiving = (await sh('epsilon', 'pgrep -f "zfs [r]eceive.*$1" >/dev/null', dataset)).exitCode === 0;
      if (!receiving) await sleep(250);
    }
    expect(receiving, 'the seed receive started on epsilon').toBe(true);
    await sleep(3000);
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    // The send on delta ends with the tool's connection; should it linger, end it (by its pids) as a crash of the link would.
    await sh('delta', 'for pid in $(pgrep -f "zfs [s]end.*$1"); do kill "$pid"; done; true', dataset);
    for (let i = 0; i < 60 && (await sh('epsilon', 'pgrep -f "zfs [r]eceive.*$1" >/dev/null', dataset)).exitCode === 0; i++) await sleep(500);
    let token = '-';
    for (let i = 0; i < 40 && token === '-'; i++) {
      token = (await sh('epsilon', 'zfs get -H -o value receive_resume_token "$1" 2>/dev/null || echo -', dataset)).stdout.trim();
      if (token === '-') await sleep(500);
    }
    expect(token).toMatch(/^1-/);
    const [interrupted] = (await listMigrations(journalDir)).filter((m) => m.stack === stack);
    expect(interrupted?.status).toBe('running');

    const resumed = await runCli(['migrate', '--resume', interrupted!.id, '--json'], { DOCKER_MCP_STATE_DIR: stateDir }, undefined, TIMEOUT_MS);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    const outcome = JSON.parse(resumed.stdout) as ResumeOutcome;
    expect(outcome.report.seed?.results[0]).toMatchObject({ ok: true, mode: 'full', resumed: true });
    expect(outcome.report.final.results[0]).toMatchObject({ ok: true, mode: 'incremental' });
    expect(outcome.report.verified).toHaveLength(1);
    expect(await running(stack)).toEqual({ delta: 0, epsilon: 1 });
  }, TIMEOUT_MS);

  it('a pruner destroys the seed snapshot between the seed and the final sync: refused (held), the migration goes on; the copy left behind is readonly', async () => {
    const stack = `${P}-prune`;
    const dataset = await deployOneService(stack, 2);
    const refusals: { status: number | null; stderr: string }[] = [];
    const report = await migrateStack(hosts.delta, hosts.epsilon, stack, {
      journalDir,
      onProgress: (event) => {
        if (event.type !== 'migration-phase' || event.phase !== 'stop') return;
        const seed = `${dataset}@docker-mcp-${migrationIdOf(stack)}-seed`;
        refusals.push(shNow(hosts.delta.host, 'zfs destroy "$1"', seed), shNow(hosts.epsilon.host, 'zfs destroy "$1"', seed));
      },
    });
    expect(refusals).toHaveLength(2);
    for (const refusal of refusals) {
      expect(refusal.status).not.toBe(0);
      expect(refusal.stderr).toMatch(/busy|hold/i);
    }
    expect(report.final.results[0]).toMatchObject({ ok: true, mode: 'incremental', pruneWarnings: [] });
    expect(await running(stack)).toEqual({ delta: 0, epsilon: 1 });
    expect(report.leftReadonly).toEqual([`delta:${dataset}`]);
    expect((await sh('delta', 'zfs get -H -o value,source readonly "$1"', dataset)).stdout.trim()).toBe('on\tlocal');
    const write = await sh('delta', 'echo late > "$1/late.txt"', `${APPDATA.delta}/${stack}-app`);
    expect(write.stderr).toMatch(/read-only/i);
  }, TIMEOUT_MS);

  it('an encrypted source dataset: refused before anything changes, with the zfs load-key to run, nothing on epsilon', async () => {
    const stack = `${P}-enc`;
    await sh('delta', 'umask 077; echo "h11b fault passphrase" > /root/h11b-fault-key');
    const dataset = await deployOneService(stack, 1, ['-o', 'encryption=on', '-o', 'keyformat=passphrase', '-o', 'keylocation=file:///root/h11b-fault-key']);
    await expect(migrateStack(hosts.delta, hosts.epsilon, stack, { journalDir })).rejects.toThrow(/refused \(nothing was changed\).*encrypted.*zfs load-key tank\/appdata\//s);
    expect(await running(stack)).toEqual({ delta: 1, epsilon: 0 });
    expect((await sh('epsilon', 'zfs list -H -o name "$1"', dataset)).exitCode).not.toBe(0);
    expect((await sh('delta', 'zfs list -H -t snapshot -o name -r "$1"', dataset)).stdout).toBe('');
  }, TIMEOUT_MS);
});

/** The id of the stack's running migration, from its journal (read synchronously in the progress callback). */
function migrationIdOf(stack: string): string {
  return (JSON.parse(readFileSync(path.join(journalDir, `${stack}.lock`), 'utf8')) as { id: string }).id;
}
