import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostCapabilities } from '../../src/host/capabilities.js';
import type { HostRow } from '../../src/host/fan-out.js';
import { runCli } from './cli.js';
import { testbedConfig } from './testbed.js';

describe('docker-mcp hosts', () => {
  it('discover --json reports ZFS on alpha and beta, none on gamma; compose v1 on alpha and gamma, v2 on beta', async () => {
    // The container hosts by name: the guests' discover is openzfs.test's. With every host, this exited 3 once in a
    // whole run (which row failed was not printed; the guests, emulated and loaded by the other lane, are the likely one).
    const run = await runCli(['hosts', 'discover', 'alpha', 'beta', 'gamma', '--json']);
    expect(run.stderr).toBe('');
    expect(run.exitCode, run.stdout).toBe(0);
    const rows = JSON.parse(run.stdout) as HostRow<HostCapabilities>[];
    const byHost = Object.fromEntries(rows.map((row) => [row.hostId, row.ok ? row.value : undefined]));
    for (const id of ['alpha', 'beta', 'gamma']) {
      expect(byHost[id]?.docker?.serverVersion).toMatch(/^20\.10\./);
      expect(byHost[id]?.compose).toMatchObject(id === 'beta' ? { flavour: 'v2', command: ['docker', 'compose'] } : { flavour: 'v1', command: ['docker-compose'] });
      expect(byHost[id]?.rsync?.version).toMatch(/^\d+\.\d+/);
      expect(byHost[id]?.appdata.freeBytes).toBeGreaterThan(0);
    }
    for (const id of ['alpha', 'beta']) {
      expect(byHost[id]?.zfs).toMatchObject({
        available: true,
        appdataDataset: `${id}/appdata`,
        pool: id,
        matchesConfig: true,
      });
      // zfs-fuse: plain send/receive, none of OpenZFS's newer features.
      expect(Object.values(byHost[id]?.zfs.features ?? {}).some(Boolean)).toBe(false);
    }
    expect(byHost.gamma?.zfs.available).toBe(false);
    expect(byHost.gamma?.zfs.appdataDataset).toBeNull();
  });

  it('discover of one named host probes only that one', async () => {
    const run = await runCli(['hosts', 'discover', 'beta', '--json']);
    expect((JSON.parse(run.stdout) as HostRow<HostCapabilities>[]).map((r) => r.hostId)).toEqual(['beta']);
  });

  it('discover keeps epsilon’s compose v2 and OpenZFS send features for the next commands, which then run no probe of their own', async () => {
    const state = await mkdtemp(path.join(os.tmpdir(), 'hosts-memo-'));
    try {
      const log = path.join(state, 'commands.jsonl');
      const composeFile = path.join(state, 'compose.yml');
      await writeFile(composeFile, 'services:\n  app:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n');
      const probesOnEpsilon = async () =>
        (await readFile(log, 'utf8').catch(() => ''))
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as { host: string; command: string })
          .filter((c) => c.host === 'epsilon' && /compose version --short/.test(c.command));
      const preview = (stateDir: string) =>
        runCli(['stacks', 'deploy', 'epsilon', 'hc-memo', '--file', composeFile, '--dry-run', '--json'], { DOCKER_MCP_STATE_DIR: stateDir, DOCKER_MCP_COMMAND_LOG: log });

      // With nothing kept, the dry run of a deploy asks epsilon which compose it has.
      const first = await preview(path.join(state, 'fresh'));
      expect(first.exitCode, first.stderr).toBe(0);
      expect(await probesOnEpsilon()).toHaveLength(1);

      const discovered = await runCli(['hosts', 'discover', 'epsilon', '--json'], { DOCKER_MCP_STATE_DIR: state });
      expect(discovered.exitCode, discovered.stderr).toBe(0);
      const kept = (name: string) => readFile(path.join(state, 'hosts', name), 'utf8').then((text) => (JSON.parse(text) as { found: Record<string, unknown> }).found);
      expect(await kept('epsilon.compose.json')).toMatchObject({ flavour: 'v2' });
      expect(await kept('epsilon.zfs-features.json')).toMatchObject({ resumeTokens: true, receiveUnmounted: true, atomicSnapshots: true });

      await writeFile(log, '');
      const second = await preview(state);
      expect(second.exitCode, second.stderr).toBe(0);
      expect(await probesOnEpsilon()).toEqual([]);
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });

  it('test says ssh and docker answer on every host', async () => {
    const run = await runCli(['hosts', 'test', '--json']);
    expect(run.exitCode).toBe(0);
    const rows = JSON.parse(run.stdout) as { hostId: string; ok: boolean; value: { ssh: { ok: boolean }; docker: { ok: boolean } } }[];
    expect(rows.map((r) => [r.hostId, r.value.ssh.ok, r.value.docker.ok])).toEqual([
      ['alpha', true, true],
      ['beta', true, true],
      ['gamma', true, true],
      ['delta', true, true],
      ['epsilon', true, true],
    ]);
  });

  it('with no hosts.yml, list says so, and add creates the file, discovers the host and records its ZFS dataset', async () => {
    const { mkdtemp, readFile, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'h14-hosts-add-'));
    const file = path.join(dir, 'config', 'hosts.yml');
    try {
      const empty = await runCli(['hosts', 'list'], { DOCKER_MCP_CONFIG: file });
      expect([empty.exitCode, empty.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^no hosts: ${file} does not exist yet \\(hosts add creates it\\)`))]);
      const alpha = (await testbedConfig()).hosts.find((h) => h.id === 'alpha')!;
      const added = await runCli(
        ['hosts', 'add', 'h14-alpha', '--hostname', alpha.hostname, '--user', alpha.user, '--identity-file', alpha.identity_file!, '--known-hosts-file', alpha.known_hosts_file!, '--appdata-path', '/srv/alpha/appdata', '--json'],
        { DOCKER_MCP_CONFIG: file },
      );
      expect(added.exitCode, added.stderr).toBe(0);
      expect(JSON.parse(added.stdout)).toMatchObject({ hostId: 'h14-alpha', discovery: { hosts: [{ hostId: 'h14-alpha', ok: true }], config_updated: ['h14-alpha'] } });
      expect(await readFile(file, 'utf8')).toMatch(/h14-alpha:[\s\S]*appdata_path: \/srv\/alpha\/appdata[\s\S]*zfs_capable: true\n    zfs_dataset: alpha\/appdata\n/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('add writes a host that does not answer as typed (unlike MCP add), says it does not connect yet, and exits 3', async () => {
    const { mkdtemp, readFile, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mk-hosts-add-'));
    const file = path.join(dir, 'hosts.yml');
    try {
      const added = await runCli(['hosts', 'add', 'mk-nowhere', '--hostname', '127.0.0.99', '--user', 'root'], { DOCKER_MCP_CONFIG: file });
      expect(added.exitCode, added.stderr).toBe(3);
      expect(added.stdout).toMatch(/^host mk-nowhere written to /);
      expect(added.stdout).toMatch(/FAILED: host mk-nowhere is unreachable: .*Connection refused[\s\S]*\nmk-nowhere does not connect yet: fix what the row above says, then run docker-mcp hosts test mk-nowhere$/);
      expect(await readFile(file, 'utf8')).toMatch(/mk-nowhere:\n {4}hostname: 127\.0\.0\.99\n/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an unknown host is bad input (exit 2) naming the hosts there are', async () => {
    const run = await runCli(['hosts', 'discover', 'nope']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/unknown host "nope"; configured hosts: alpha, beta, gamma, delta, epsilon/);
  });

  it('a host that cannot be reached gets its own failed row and exit 3, the others still answer', async () => {
    const { mkdtempSync, writeFileSync, readFileSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { testbedHostsFile } = await import('../../src/testbed/layout.js');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-cli-'));
    const file = path.join(dir, 'hosts.yml');
    const text = readFileSync(testbedHostsFile(), 'utf8').replace(/hostname: 127\.0\.0\.13/, 'hostname: 127.0.0.99');
    writeFileSync(file, text);
    const run = await runCli(['--config', file, 'hosts', 'test', '--json']);
    expect(run.exitCode).toBe(3);
    const rows = JSON.parse(run.stdout) as { hostId: string; value: { ssh: { ok: boolean; error?: string } } }[];
    const gamma = rows.find((r) => r.hostId === 'gamma');
    expect(gamma?.value.ssh.ok).toBe(false);
    expect(gamma?.value.ssh.error).toMatch(/unreachable/);
    expect(rows.filter((r) => r.value.ssh.ok).map((r) => r.hostId)).toEqual(['alpha', 'beta', 'delta', 'epsilon']);
  });

  it('a broken hosts.yml is a config error naming file, host, field and line', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-cli-')), 'hosts.yml');
    writeFileSync(file, 'hosts:\n  alpha:\n    hostname: a\n    user: root\n    port: many\n');
    const run = await runCli(['--config', file, 'hosts', 'list']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(file);
    expect(run.stderr).toMatch(/line 5, host "alpha", field "port"/);
  });
});
