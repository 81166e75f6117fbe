/**
 * Failover of a whole host on the container testbed: alpha runs four stacks,
 * one kept on beta by ZFS, one on gamma by rsync, one declared on beta but
 * never copied, one with no standby at all (listed here once, so it is known).
 * While alpha answers, `failover --host alpha` is refused and changes
 * nothing. Then alpha "dies" (its containers killed, and this test's own
 * hosts.yml points alpha at a loopback address where nothing listens): one
 * run tries alpha once for all of them, starts the two copied stacks on their
 * standbys side by side, reports the one without a copy as failed without
 * stopping the others, names the one without a standby as lost, and exits
 * non-zero for the failure.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { listContainers } from '../../src/docker/containers.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import type { HostFailoverReport } from '../../src/failover/failover-host.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { CLI_BIN, runCli } from './cli.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

type Id = 'alpha' | 'beta' | 'gamma';
const IDS = ['alpha', 'beta', 'gamma'] as const;
const hosts = {} as Record<Id, DockerHost>;
const prefix = `fhost${process.pid}`;
const byZfs = `${prefix}-zfs`;
const byRsync = `${prefix}-rs`;
const noCopy = `${prefix}-nocopy`;
const lone = `${prefix}-lone`;
/** Nothing listens here: a host that is gone. */
const DEAD_ADDRESS = '127.0.0.98';
const sh = (id: Id, script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 300_000 });

let dir: string;
const hostsFile = () => path.join(dir, 'hosts.yml');
const standbyFile = () => path.join(dir, 'standby.yml');
const cli = (...args: string[]) => runCli(['--config', hostsFile(), ...args], { DOCKER_MCP_STATE_DIR: path.join(dir, 'state') }, undefined, 300_000);

/** One service writing to its data path on alpha. */
const composeOf = (stack: string) => `services:
  app:
    image: local/busybox:test
    command: ["sh", "-c", "while true; do date >> /data/log; sleep 0.5; done"]
    network_mode: none
    init: true
    volumes:
      - /srv/alpha/appdata/${stack}-app:/data
`;

async function upOnAlpha(stack: string): Promise<void> {
  const up = await sh(
    'alpha',
    ['set -e', 'mkdir -p "$1" "$3"', 'printf "%s" "$2" > "$1/docker-compose.yml"', 'head -c 200000 /dev/urandom > "$3/pages.bin"', 'cd "$1" && docker-compose up -d 2>&1'].join('\n'),
    `/srv/alpha/compose/${stack}`,
    composeOf(stack),
    `/srv/alpha/appdata/${stack}-app`,
  );
  expect(up.exitCode, up.stdout + up.stderr).toBe(0);
}

const runningOn = async (id: Id, stack: string) => (await listContainers(hosts[id])).filter((c) => c.stack === stack && c.state === 'running').map((c) => c.service);
const pagesSum = async (id: Id, stack: string) => (await sh(id, 'sha256sum < "$1/pages.bin"', `/srv/${id}/appdata/${stack}-app`)).stdout;

beforeAll(async () => {
  for (const id of IDS) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-failover-host-'));
  copyFileSync(testbedHostsFile(), hostsFile());
  await new ZfsHost(hosts.alpha.transport).createDataset(`alpha/appdata/${byZfs}-app`);
  for (const stack of [byZfs, byRsync, noCopy, lone]) await upOnAlpha(stack);
}, 300_000);

afterAll(async () => {
  for (const id of IDS) await cleanUpPrefix(hosts[id], id, prefix);
  for (const id of ['beta', 'gamma'] as const) {
    await sh(id, 'rm -rf /srv/"$1"/appdata/.docker-mcp-standby/alpha/"$2"* /srv/"$1"/compose/.docker-mcp-standby/alpha/"$2"*', id, prefix);
  }
  for (const host of Object.values(hosts)) await host.transport.close();
  rmSync(dir, { recursive: true, force: true });
}, 300_000);

describe('failover --host alpha (container testbed: beta by ZFS, gamma by rsync)', () => {
  it('is refused while alpha answers, after naming every stack it would touch, and nothing changes', async () => {
    for (const [stack, to] of [
      [byZfs, 'beta'],
      [byRsync, 'gamma'],
      [noCopy, 'beta'],
    ] as const) {
      const added = await cli('standby', 'add', stack, '--on', 'alpha', '--to', to, '--every', '1h');
      expect(added.exitCode, added.stderr).toBe(0);
    }
    for (const stack of [byZfs, byRsync]) {
      const synced = await cli('standby', 'sync', stack, '--json');
      expect(synced.exitCode, synced.stdout + synced.stderr).toBe(0);
    }
    // What a failover of alpha knows of its stacks without a standby: the last listing.
    expect((await cli('stacks', 'list', 'alpha', '--json')).exitCode).toBe(0);

    const both = await cli('failover', byZfs, '--host', 'alpha', '--yes');
    expect(both.exitCode).toBe(2);
    // No terminal to ask on: the question lists the stacks, and nothing is done.
    const unconfirmed = await cli('failover', '--host', 'alpha');
    expect(unconfirmed.exitCode).not.toBe(0);
    expect(unconfirmed.stderr).toContain(`${byZfs} starts on beta`);
    expect(unconfirmed.stderr).toContain(`${byRsync} starts on gamma`);
    expect(unconfirmed.stderr).toContain(`${lone} has no standby: down until alpha returns`);
    expect(unconfirmed.stderr).toContain('add --yes');

    const refused = await cli('failover', '--host', 'alpha', '--yes', '--tries', '1', '--json');
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('alpha answers');
    expect(refused.stderr).toContain('Nothing was changed');
    expect(readFileSync(standbyFile(), 'utf8')).not.toContain('failed_over');
    const copy = await sh('beta', 'zfs get -H -o value readonly,mounted "$1"', `beta/appdata/${byZfs}-app`);
    expect(copy.stdout.split('\n').filter(Boolean)).toEqual(['on', 'no']);
    expect(await runningOn('beta', byZfs)).toEqual([]);
    expect(await runningOn('gamma', byRsync)).toEqual([]);
    expect(await runningOn('alpha', byZfs)).toEqual(['app']);

    // The same over MCP: docker_standby failover with host_id, confirmed, then refused the same way.
    const client = new Client({ name: 'failover-host-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args: [CLI_BIN, 'serve'], env: { PATH: process.env.PATH ?? '', HOME: dir, DOCKER_MCP_CONFIG: hostsFile(), DOCKER_MCP_STATE_DIR: path.join(dir, 'state') }, stderr: 'pipe' }),
    );
    try {
      const mcp = async (args: Record<string, unknown>) => {
        const result = (await client.callTool({ name: 'docker_standby', arguments: { action: 'failover', host_id: 'alpha', ...args } })) as CallToolResult;
        expect(result.isError).toBe(true);
        return (result.content[0] as { text: string }).text;
      };
      const unasked = await mcp({});
      expect(unasked).toMatch(/confirm: true/);
      expect(unasked).toContain(`${lone} has no standby`);
      expect(await mcp({ confirm: true })).toMatch(/alpha answers .*Nothing was changed/);
      expect(await mcp({ confirm: true, stack_name: byZfs })).toMatch(/^bad-input: .*both given/);
    } finally {
      await client.close();
    }
    expect(readFileSync(standbyFile(), 'utf8')).not.toContain('failed_over');
  });

  it('with alpha gone: tried once, both copied stacks run on their standbys, the uncopied one fails alone, the one without a standby is named lost', async () => {
    await sh('alpha', 'docker ps -q --filter "name=^$1" | xargs -r docker kill >/dev/null', prefix);
    const config = parse(readFileSync(hostsFile(), 'utf8')) as { hosts: Record<string, { hostname: string }> };
    (config.hosts.alpha as { hostname: string }).hostname = DEAD_ADDRESS;
    writeFileSync(hostsFile(), stringify(config));

    const run = await cli('failover', '--host', 'alpha', '--yes', '--tries', '2', '--interval', '1', '--parallel', '3', '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(1);
    const report = JSON.parse(run.stdout) as HostFailoverReport;
    expect(report.host).toBe('alpha');
    expect(report.primary).toHaveLength(2);
    expect(report.primary.every((line) => line.includes('no answer'))).toBe(true);
    expect(report.failed).toBe(1);
    const byStack = new Map(report.results.map((r) => [r.stack, r]));
    expect(byStack.get(byZfs)).toMatchObject({ to: 'beta', ok: true, report: { from: 'alpha', to: 'beta', folder: `/srv/beta/compose/${byZfs}`, data: [`beta/appdata/${byZfs}-app`] } });
    expect(byStack.get(byRsync)).toMatchObject({ to: 'gamma', ok: true, report: { from: 'alpha', to: 'gamma', folder: `/srv/gamma/compose/${byRsync}` } });
    const failed = byStack.get(noCopy);
    expect(failed?.ok).toBe(false);
    expect(failed && !failed.ok ? failed.error.message : '').toContain('holds no confirmed copy');
    // Each stack's report carries the one check of alpha.
    for (const stack of [byZfs, byRsync]) {
      const result = byStack.get(stack);
      expect(result?.ok && result.report.primary).toEqual(report.primary);
    }
    // Other developers' stacks on the shared alpha are lost too; ours is among them.
    expect(report.lost.map((s) => s.stack).filter((s) => s.startsWith(prefix))).toEqual([lone]);
    expect(report.listedAt).not.toBeNull();

    expect(await runningOn('beta', byZfs)).toEqual(['app']);
    expect(await runningOn('gamma', byRsync)).toEqual(['app']);
    expect(await pagesSum('beta', byZfs)).toBe(await pagesSum('alpha', byZfs));
    expect(await pagesSum('gamma', byRsync)).toBe(await pagesSum('alpha', byRsync));
    const { standbys } = parse(readFileSync(standbyFile(), 'utf8')) as { standbys: Record<string, { failed_over?: unknown }> };
    expect(Object.entries(standbys).map(([key, entry]) => [key, entry.failed_over !== undefined])).toEqual([
      [`alpha/${byZfs}`, true],
      [`alpha/${byRsync}`, true],
      [`alpha/${noCopy}`, false],
    ]);
  });

  it('run again: the two are named as failed over already, and the failure is the only work left', async () => {
    const human = await cli('failover', '--host', 'alpha', '--yes', '--tries', '1', '--interval', '1');
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toContain(`already failed over: ${byZfs} to beta`);
    expect(human.stdout).toContain(`already failed over: ${byRsync} to gamma`);
    expect(human.stdout).toContain(`FAILED: ${noCopy} (to beta)`);
    expect(human.stdout).toContain(`LOST until alpha returns (no standby): ${lone}`);
    expect(human.stdout).toContain('failover of alpha: 0 of 1 stack(s)');
  });
});
