/**
 * Evacuating alpha on the container testbed: four stacks run on it. One
 * fits on beta (ZFS, preferred from a ZFS source), one only on gamma (beta
 * already has a stack of its name: rsync, the fallback without ZFS), one has
 * its standby on gamma (so goes there, though beta has ZFS, seeded from the
 * standby's copy), and one whose data is bigger than either candidate's free
 * space. The dry run names
 * that one, with each candidate's reason, and changes nothing; the
 * evacuation moves the two that fit and exits non-zero naming the third,
 * which still runs on alpha.
 *
 * Isolation. Other test files and other people keep stacks on alpha at the
 * same time, and an evacuation moves every stack that runs on the host. So
 * the test evacuates alpha through a hosts.yml of its own in which alpha's
 * compose_path is a folder only this test's stacks live in: evacuate moves
 * only stacks it can read from their folder under compose_path, and names
 * every other project running on alpha's engine (theirs) as one it cannot
 * move, touching nothing of it. That is how a real host's stray projects are
 * treated too, so the test needs no switch of its own. The candidates' room
 * is the test's as well: beta's appdata in that file is a dataset of the
 * test's with a 2 MiB quota, gamma's a 2 MiB tmpfs; everything else on beta
 * and gamma is left as it is. Ports are not part of this: the testbed's
 * engines have no bridge network, so nothing they run publishes a port (the
 * planner's port rules are covered in test/unit/evacuate-plan.test.ts).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { listContainers } from '../../src/docker/containers.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { deployStack } from '../../src/docker/stacks.js';
import type { EvacuationPlan } from '../../src/migration/evacuate-plan.js';
import type { EvacuationReport } from '../../src/migration/evacuate.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { CLI_BIN, runCli } from './cli.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

type Id = 'alpha' | 'beta' | 'gamma';
const IDS = ['alpha', 'beta', 'gamma'] as const;
const TIMEOUT_MS = 600_000;
const prefix = `evac${process.pid}`;
const web = `${prefix}-web`;
const side = `${prefix}-side`;
const big = `${prefix}-big`;
/** Its standby is gamma (by rsync): the evacuation sends it there, not to beta. */
const kept = `${prefix}-kept`;
const ROOM = 2 * 1024 * 1024;
/** Alpha's compose_path in the test's hosts.yml: only the test's stacks are read from it. */
const home = `/srv/alpha/compose/${prefix}-home`;
const betaRoom = { dataset: `beta/appdata/${prefix}-room`, path: `/srv/beta/appdata/${prefix}-room` };
const gammaRoom = `/srv/gamma/appdata/${prefix}-room`;

const hosts = {} as Record<Id, DockerHost>;
let dir: string;
const hostsFile = () => path.join(dir, 'hosts.yml');
const cli = (...args: string[]) => runCli(['--config', hostsFile(), ...args], { DOCKER_MCP_STATE_DIR: path.join(dir, 'state') }, undefined, TIMEOUT_MS);
const sh = (id: Id, script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 300_000 });

const compose = (stack: string) => `services:
  app:
    image: local/busybox:test
    command: ["sleep", "3600"]
    network_mode: none
    init: true
    volumes:
      - /srv/alpha/appdata/${stack}-data:/data
`;

async function runningOn(id: Id, stack: string): Promise<number> {
  return (await listContainers(hosts[id])).filter((c) => c.stack === stack && c.state === 'running').length;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-evacuate-'));
  const file = parse(readFileSync(testbedHostsFile(), 'utf8')) as { hosts: Record<string, Record<string, unknown>> };
  // The guests are not this test's: they are no candidates.
  file.hosts = {
    alpha: { ...file.hosts.alpha, compose_path: home },
    beta: { ...file.hosts.beta, appdata_path: betaRoom.path, zfs_dataset: betaRoom.dataset },
    gamma: { ...file.hosts.gamma, appdata_path: gammaRoom },
  };
  writeFileSync(hostsFile(), stringify(file));
  for (const id of IDS) {
    const host = { ...(await testbedHost(id)), ...(file.hosts[id] as object) } as DockerHost['host'];
    hosts[id] = { host, transport: new SshTransport(host) };
  }

  execFileSync('zfs', ['create', '-o', `quota=${ROOM}`, betaRoom.dataset]);
  mkdirSync(gammaRoom, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${ROOM}`, `${prefix}-room`, gammaRoom]);
  // Beta has a stack of side's name already (not running): the migration there is refused.
  mkdirSync(`/srv/beta/compose/${side}`, { recursive: true });
  writeFileSync(`/srv/beta/compose/${side}/docker-compose.yml`, 'services:\n  app:\n    image: local/busybox:test\n    network_mode: none\n');

  const zfs = new ZfsHost(hosts.alpha.transport);
  await zfs.createDataset(`alpha/appdata/${web}-data`);
  await zfs.createDataset(`alpha/appdata/${big}-data`);
  const filled = await sh(
    'alpha',
    'set -e; mkdir -p "$2" "$4"; head -c 200000 /dev/urandom > "$1/blob"; head -c 150000 /dev/urandom > "$2/blob"; head -c 3000000 /dev/urandom > "$3/blob"; head -c 100000 /dev/urandom > "$4/blob"',
    `/srv/alpha/appdata/${web}-data`,
    `/srv/alpha/appdata/${side}-data`,
    `/srv/alpha/appdata/${big}-data`,
    `/srv/alpha/appdata/${kept}-data`,
  );
  expect(filled.exitCode, filled.stderr).toBe(0);
  for (const stack of [web, side, big, kept]) await deployStack(hosts.alpha, stack, compose(stack));
  for (const stack of [web, side, big, kept]) expect(await runningOn('alpha', stack)).toBe(1);
  expect((await cli('standby', 'add', kept, '--on', 'alpha', '--to', 'gamma')).exitCode).toBe(0);
  const synced = await cli('standby', 'sync', kept);
  expect(synced.exitCode, synced.stdout + synced.stderr).toBe(0);
}, TIMEOUT_MS);

afterAll(async () => {
  // The tmpfs goes once nothing runs on it; then everything named with the prefix, the quota'd dataset among them.
  await sh('gamma', 'docker ps -aq --filter "name=^$1" | xargs -r docker rm -f >/dev/null', prefix).catch(() => undefined);
  try {
    execFileSync('umount', [gammaRoom]);
  } catch {
    // never mounted
  }
  for (const id of IDS) await cleanUpPrefix(hosts[id], id, prefix);
  await sh('gamma', 'rm -rf -- "$1"', `/srv/gamma/compose/.docker-mcp-standby/alpha/${kept}`);
  for (const host of Object.values(hosts)) await host.transport.close();
  rmSync(dir, { recursive: true, force: true });
}, TIMEOUT_MS);

describe('evacuate alpha (container testbed)', () => {
  it('--dry-run places each stack, names the one that fits nowhere with each candidate\'s reason, and changes nothing', async () => {
    const run = await cli('evacuate', 'alpha', '--dry-run', '--json');
    expect(run.exitCode, run.stderr).toBe(0);
    const plan = JSON.parse(run.stdout) as EvacuationPlan;
    expect(plan.candidates).toEqual(['beta', 'gamma']);
    expect(plan.moves).toEqual([
      expect.objectContaining({ stack: kept, to: 'gamma', method: 'rsync', standby: true, why: expect.stringContaining('its standby') }),
      expect.objectContaining({ stack: side, to: 'gamma', method: 'rsync', passedOver: [{ host: 'beta', reason: expect.stringContaining(`beta already has a stack "${side}"`) }] }),
      expect.objectContaining({ stack: web, to: 'beta', method: 'zfs', passedOver: [] }),
    ]);
    const stuck = plan.leftBehind.find((l) => l.stack === big);
    expect(stuck?.reasons.map((r) => r.host)).toEqual(['beta', 'gamma']);
    for (const reason of stuck?.reasons ?? []) expect(reason.reason).toMatch(/has \d+ bytes free under .*the stack's data is \d+ bytes/);
    // Other people's stacks on alpha's engine are named, not moved.
    expect(plan.leftBehind.filter((l) => !l.stack.startsWith(prefix)).every((l) => l.reasons[0]?.reason.includes('not from a folder under compose_path'))).toBe(true);

    const text = await cli('evacuate', 'alpha', '--dry-run');
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain('dry run, nothing was changed');
    expect(text.stdout).toMatch(new RegExp(`fits nowhere, stays on alpha:[\\s\\S]*${big}\\n\\s+beta: [^\\n]*bytes free`));

    for (const stack of [web, side, big, kept]) expect(await runningOn('alpha', stack)).toBe(1);
    expect(await runningOn('beta', web)).toBe(0);
    expect(await runningOn('gamma', side)).toBe(0);
  }, TIMEOUT_MS);

  it('over MCP (docker_hosts, action evacuate): dry_run gives the same plan; without a way to ask its user, nothing moves unconfirmed', async () => {
    const client = new Client({ name: 'evacuate-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [CLI_BIN, 'serve'],
        env: { PATH: process.env.PATH ?? '', HOME: dir, DOCKER_MCP_CONFIG: hostsFile(), DOCKER_MCP_STATE_DIR: path.join(dir, 'state') },
        stderr: 'pipe',
      }),
    );
    try {
      const call = (args: Record<string, unknown>) => client.callTool({ name: 'docker_hosts', arguments: { action: 'evacuate', host_id: 'alpha', ...args } }, undefined, { timeout: TIMEOUT_MS }) as Promise<CallToolResult>;
      const planned = await call({ dry_run: true });
      expect(planned.isError, JSON.stringify(planned.content)).toBeFalsy();
      const evacuation = (planned.structuredContent as { evacuation: { moves: { stack: string; to: string }[]; left_behind: { stack: string }[] } }).evacuation;
      expect(evacuation.moves.map((m) => [m.stack, m.to])).toEqual([
        [kept, 'gamma'],
        [side, 'gamma'],
        [web, 'beta'],
      ]);
      expect(evacuation.left_behind.map((l) => l.stack)).toContain(big);

      const unconfirmed = await call({});
      expect(unconfirmed.isError).toBe(true);
      expect(JSON.stringify(unconfirmed.content)).toContain('confirm: true');
      expect(await runningOn('alpha', web)).toBe(1);
    } finally {
      await client.close();
    }
  }, TIMEOUT_MS);

  it('without --yes and without a terminal, asks for it and moves nothing', async () => {
    const run = await cli('evacuate', 'alpha');
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain('add --yes to confirm');
    expect(await runningOn('alpha', web)).toBe(1);
  }, TIMEOUT_MS);

  it('moves the stacks that fit, their data intact, and exits non-zero naming the one left on alpha', async () => {
    const sums = async (id: Id, file: string) => (await sh(id, 'sha256sum < "$1"', file)).stdout.trim();
    const webSum = await sums('alpha', `/srv/alpha/appdata/${web}-data/blob`);
    const sideSum = await sums('alpha', `/srv/alpha/appdata/${side}-data/blob`);
    const keptSum = await sums('alpha', `/srv/alpha/appdata/${kept}-data/blob`);

    const run = await cli('evacuate', 'alpha', '--yes', '--json');
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toContain('alpha is not empty: 3 stacks moved');
    expect(run.stderr).toContain(`${big}: beta: beta has`);
    const report = JSON.parse(run.stdout) as EvacuationReport;
    expect(report.complete).toBe(false);
    expect(report.failed).toEqual([]);
    expect(report.moved.map((m) => [m.stack, m.to])).toEqual([
      [kept, 'gamma'],
      [side, 'gamma'],
      [web, 'beta'],
    ]);
    // Onto its standby: seeded from the copy the pass left there, and no longer declared (gamma runs it).
    const ontoStandby = report.moved.find((m) => m.stack === kept);
    expect(ontoStandby?.report.seededFromStandby).toEqual([`${gammaRoom}/${kept}-data`]);
    expect(ontoStandby?.standbyNote).toContain('now runs it');
    expect(readFileSync(path.join(dir, 'standby.yml'), 'utf8')).not.toContain(kept);

    expect(await runningOn('beta', web)).toBe(1);
    expect(await runningOn('gamma', side)).toBe(1);
    expect(await runningOn('alpha', big)).toBe(1);
    expect(await runningOn('alpha', web)).toBe(0);
    expect(await runningOn('alpha', side)).toBe(0);
    expect(await sums('beta', `${betaRoom.path}/${web}-data/blob`)).toBe(webSum);
    expect(await sums('gamma', `${gammaRoom}/${side}-data/blob`)).toBe(sideSum);
    expect(await runningOn('gamma', kept)).toBe(1);
    expect(await sums('gamma', `${gammaRoom}/${kept}-data/blob`)).toBe(keptSum);
  }, TIMEOUT_MS);

  it('run again, leaves alone what moved (stopped on alpha) and still names what fits nowhere', async () => {
    const run = await cli('evacuate', 'alpha', '--dry-run', '--json');
    expect(run.exitCode, run.stderr).toBe(0);
    const plan = JSON.parse(run.stdout) as EvacuationPlan;
    expect(plan.moves).toEqual([]);
    expect(plan.skipped.map((s) => s.stack)).toEqual(expect.arrayContaining([kept, side, web]));
    expect(plan.leftBehind.map((l) => l.stack)).toContain(big);
  }, TIMEOUT_MS);
});
