/**
 * A standby by rsync on the container testbed (alpha → gamma, gamma has no
 * ZFS): each data path copied into gamma's staging directory, which no stack
 * uses, with a key of the pass's own that is gone when the pass ends; the
 * next pass sends only what changed; a migration to gamma clones the copy
 * into place and sends only the difference, then the copy goes.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { listContainers } from '../../src/docker/containers.js';
import { deployStack } from '../../src/docker/stacks.js';
import type { MigrationReport } from '../../src/migration/execute.js';
import { listMigrations } from '../../src/migration/journal.js';
import { TEST_CRASH_VARIABLE } from '../../src/migration/test-crash-hook.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import type { StandbyPassRecord } from '../../src/standby/pass-state.js';
import type { StandbyStatus } from '../../src/standby/status.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { runCli } from './cli.js';
import { authStackFile, cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

type Id = 'alpha' | 'gamma';
const hosts = {} as Record<Id, DockerHost>;
const prefix = `sbr${process.pid}`;
const stack = `${prefix}-auth`;
const SERVICES = ['authelia', 'authelia-mariadb', 'authelia-redis'];
const staging = `/srv/gamma/appdata/.docker-mcp-standby/alpha/${stack}`;
const stagedPaths = SERVICES.map((s) => `${staging}/${stack}-${s}`);
const stagedFolder = `/srv/gamma/compose/.docker-mcp-standby/alpha/${stack}`;
/** An image only alpha has: the pass carries it to gamma. */
const image = `local/${prefix}:test`;
const sh = (id: Id, script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]));

let dir: string;
let env: Record<string, string>;
const cli = (...args: string[]) => runCli(['--config', path.join(dir, 'hosts.yml'), ...args], env, undefined, 300_000);

/** sha256 of every file under `root`, by path relative to it, and each file's mode and owner. */
async function contents(id: Id, root: string): Promise<string> {
  const listed = await sh(id, 'cd "$1" && find . -type f ! -name heartbeat.log -exec sha256sum {} + | sort && find . ! -name heartbeat.log -exec stat -c "%n %a %u:%g" {} + | sort', root);
  return listed.stdout;
}

async function passKeysOnGamma(): Promise<string> {
  return (await sh('gamma', 'cat "$HOME/.ssh/authorized_keys" 2>/dev/null | grep -c "docker-mcp-route:standby-" || true')).stdout.trim();
}

beforeAll(async () => {
  for (const id of ['alpha', 'gamma'] as const) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-standby-rsync-'));
  copyFileSync(testbedHostsFile(), path.join(dir, 'hosts.yml'));
  env = { DOCKER_MCP_STATE_DIR: path.join(dir, 'state') };
  await sh(
    'alpha',
    'mkdir -p "$1" "$2" "$3" && head -c 2000000 /dev/urandom > "$2/ibdata1" && echo "jwt: secret" > "$1/configuration.yml" && chmod 600 "$1/configuration.yml" && echo hidden > "$3/.dotfile" && ln "$2/ibdata1" "$2/ibdata1.link"',
    ...SERVICES.map((s) => `/srv/alpha/appdata/${stack}-${s}`),
  );
  await sh('alpha', 'docker tag local/busybox:test "$1"', image);
  await deployStack(hosts.alpha, stack, authStackFile(stack, 'alpha', image));
}, 300_000);

afterAll(async () => {
  for (const id of ['alpha', 'gamma'] as const) await cleanUpPrefix(hosts[id], id, prefix);
  await sh('gamma', 'rm -rf -- "$1" "$2"', staging, stagedFolder);
  for (const host of Object.values(hosts)) await host.transport.close();
  rmSync(dir, { recursive: true, force: true });
}, 300_000);

describe('standby alpha → gamma by rsync (container testbed, gamma without ZFS)', () => {
  it('one pass copies every data path into gamma\'s staging directory, byte for byte, with a key of its own that is gone afterwards; nothing runs on gamma', async () => {
    const added = await cli('standby', 'add', stack, '--on', 'alpha', '--to', 'gamma', '--every', '1h');
    expect(added.exitCode, added.stderr).toBe(0);
    const run = await cli('standby', 'sync', stack, '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const [record] = JSON.parse(run.stdout) as StandbyPassRecord[];
    expect(record).toMatchObject({ host: 'alpha', stack, to: 'gamma', ok: true, error: null, atomic: false, snapshot: null });
    expect(record?.datasets.map((d) => [d.standbyPath, d.mode])).toEqual(stagedPaths.map((p) => [p, 'copy']));
    expect(record?.bytes).toBeGreaterThan(2_000_000);
    expect(record?.warnings.join(' ')).toContain('file by file');
    for (const [index, service] of SERVICES.entries()) {
      expect(await contents('gamma', stagedPaths[index] as string), service).toBe(await contents('alpha', `/srv/alpha/appdata/${stack}-${service}`));
    }
    // The hard link arrived as one: rsync -H.
    expect((await sh('gamma', 'stat -c %h "$1/ibdata1"', stagedPaths[1] as string)).stdout.trim()).toBe('2');
    expect(await passKeysOnGamma()).toBe('0');
    expect((await listContainers(hosts.gamma)).filter((c) => c.name.startsWith(prefix))).toEqual([]);

    // The folder, rewritten for gamma (checked by its compose), and the image gamma lacked: a failover needs both.
    expect(record).toMatchObject({ stagedFolder, imagesCarried: [image] });
    const composeText = (await sh('gamma', 'cat "$1/docker-compose.yml"', stagedFolder)).stdout;
    expect(composeText).toContain(`/srv/gamma/appdata/${stack}-authelia:/config`);
    expect(composeText).not.toContain('/srv/alpha/');
    expect((await sh('gamma', 'docker image inspect --format ok "$1"', image)).stdout.trim()).toBe('ok');
    // Staged apart: gamma lists no such stack.
    const [listed] = JSON.parse((await cli('stacks', 'list', 'gamma', '--json')).stdout) as { value: { name: string }[]; standbyCopies: { stack: string }[] }[];
    expect(listed?.value.map((s) => s.name)).not.toContain(stack);
    expect(listed?.standbyCopies.map((c) => c.stack)).toEqual([stack]);

    const status = JSON.parse((await cli('standby', 'status', '--json')).stdout) as StandbyStatus[];
    expect(status).toEqual([expect.objectContaining({ stack, to: 'gamma', state: 'ok', confirmedSnapshot: `rsync:${staging}`, lastPassOk: true })]);
    const check = await cli('standby', 'check');
    expect(check.exitCode, check.stdout).toBe(0);
  });

  it('the next pass sends only what changed', async () => {
    await sh('alpha', 'echo "pass 0" >> "$1/changed.txt"', `/srv/alpha/appdata/${stack}-authelia-redis`);
    const run = await cli('standby', 'sync', stack, '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const [record] = JSON.parse(run.stdout) as StandbyPassRecord[];
    expect(record?.ok).toBe(true);
    // 2 MB of data in all; the pass carries the changed files (the heartbeat log and changed.txt).
    expect(record?.bytes).toBeLessThan(500_000);
    expect((await sh('gamma', 'cat "$1/changed.txt"', stagedPaths[2] as string)).stdout).toBe('pass 0\n');
    expect(await passKeysOnGamma()).toBe('0');
  });

  it('migrate to the standby clones the copy into place and sends only the difference; killed and resumed, the stack runs on gamma and the copy is gone', async () => {
    await sh('alpha', 'echo "pass 1" >> "$1/changed.txt"', `/srv/alpha/appdata/${stack}-authelia-redis`);
    const killed = await runCli(['--config', path.join(dir, 'hosts.yml'), 'migrate', 'alpha', 'gamma', stack, '--json'], { ...env, [TEST_CRASH_VARIABLE]: 'final-sync' }, undefined, 300_000);
    expect(killed.exitCode).not.toBe(0);
    const [interrupted] = await listMigrations(path.join(env.DOCKER_MCP_STATE_DIR as string, 'migrations'));
    const run = await cli('migrate', '--resume', interrupted?.id as string, '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const { report, standbyNote } = JSON.parse(run.stdout) as { report: MigrationReport; standbyNote?: string };
    const targets = SERVICES.map((s) => `/srv/gamma/appdata/${stack}-${s}`);
    expect([...(report.seededFromStandby ?? [])].sort()).toEqual(targets);
    expect(report.seed?.results.every((r) => r.method === 'rsync' && r.ok)).toBe(true);
    expect(report.seed?.bytes).toBeLessThan(500_000);
    expect(report.verified.map((v) => v.path).sort()).toEqual(targets);
    expect((await sh('gamma', 'cat "$1/changed.txt"', targets[2] as string)).stdout).toBe('pass 0\npass 1\n');
    expect(await contents('gamma', targets[0] as string)).toBe(await contents('alpha', `/srv/alpha/appdata/${stack}-authelia`));
    expect(standbyNote).toContain(`gamma kept ${stack}'s standby copy and now runs it`);
    expect((await cli('standby', 'list', '--json')).stdout).not.toContain(stack);
    // The image was staged by the passes: the migration had none to carry.
    expect(report.imagesCarried).toEqual([]);
    expect((await sh('gamma', 'for dir; do test -e "$dir" && echo present || echo gone; done', staging, stagedFolder, '/srv/gamma/compose/.docker-mcp-standby')).stdout.trim().split('\n')).toEqual(['gone', 'gone', 'gone']);
    const running = (await listContainers(hosts.gamma)).filter((c) => c.stack === stack && c.state === 'running');
    expect(running).toHaveLength(3);
  });
});
