import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { listContainers } from '../../src/docker/containers.js';
import { deployStack } from '../../src/docker/stacks.js';
import { MigrationFailedError } from '../../src/migration/errors.js';
import { migrateStack } from '../../src/migration/execute.js';
import type { MigrationPlan } from '../../src/migration/plan.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { readManifest, compareManifests } from '../../src/transfer/manifest.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { runCli } from './cli.js';
import { authStackFile, cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

type Id = 'alpha' | 'beta' | 'gamma';
const hosts = {} as Record<Id, DockerHost>;
const prefix = `m${process.pid}`;
const sh = (id: Id, script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]));

async function state(id: Id): Promise<string> {
  const zfs = id === 'gamma' ? '' : (await hosts[id].transport.exec(command(['zfs', 'list', '-H', '-t', 'all', '-o', 'name', '-r', `${id}/appdata`]))).stdout;
  const files = (await sh(id, 'ls -la /srv/"$1"/compose /srv/"$1"/appdata', id)).stdout;
  const containers = (await listContainers(hosts[id])).map((c) => `${c.name} ${c.state}`).join('\n');
  // Only this file's own names: other people may use the testbed at the same time.
  return `${zfs}\n${files}\n${containers}`.split('\n').filter((line) => line.includes(prefix)).join('\n');
}

beforeAll(async () => {
  for (const id of ['alpha', 'beta', 'gamma'] as const) {
    const host: HostConfig = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
});

afterAll(async () => {
  for (const id of ['alpha', 'beta', 'gamma'] as const) await cleanUpPrefix(hosts[id], id, prefix);
  for (const host of Object.values(hosts)) await host.transport.close();
});

describe('docker-mcp migrate (ZFS to ZFS)', () => {
  const stack = `${prefix}-auth`;

  beforeAll(async () => {
    // authelia's path is already a dataset, mariadb's a plain directory with data
    // (converted on the way), redis's is created by docker at the first start.
    await new ZfsHost(hosts.alpha.transport).createDataset(`alpha/appdata/${stack}-authelia`);
    await sh('alpha', 'echo "jwt: secret" > "$1/configuration.yml"; mkdir -p "$2" && head -c 3000000 /dev/urandom > "$2/ibdata1" && echo x > "$2/.hidden"',
      `/srv/alpha/appdata/${stack}-authelia`, `/srv/alpha/appdata/${stack}-authelia-mariadb`);
    await deployStack(hosts.alpha, stack, authStackFile(stack, 'alpha'));
  });

  it('--dry-run prints the plan and changes nothing on either host', async () => {
    const before = [await state('alpha'), await state('beta')];
    const run = await runCli(['migrate', 'alpha', 'beta', stack, '--dry-run', '--json']);
    expect(run.stderr).toBe('');
    const plan = JSON.parse(run.stdout) as MigrationPlan;
    expect(plan.dataPaths.map((d) => [d.sourcePath, d.targetPath, d.method])).toEqual([
      [`/srv/alpha/appdata/${stack}-authelia`, `/srv/beta/appdata/${stack}-authelia`, 'zfs'],
      [`/srv/alpha/appdata/${stack}-authelia-mariadb`, `/srv/beta/appdata/${stack}-authelia-mariadb`, 'zfs'],
      [`/srv/alpha/appdata/${stack}-authelia-redis`, `/srv/beta/appdata/${stack}-authelia-redis`, 'zfs'],
    ]);
    expect(plan.steps.map((s) => s.phase)).toContain('seed');
    expect(plan.targetComposeText).toContain(`/srv/beta/appdata/${stack}-authelia:/config   # config and heartbeat`);
    expect(plan.refusals).toEqual([]);
    expect([await state('alpha'), await state('beta')]).toEqual(before);
  });

  it('--dry-run asks the hosts what pre-flight asks: a stack of that name on beta is named as what the migration would refuse', async () => {
    const folder = `/srv/beta/compose/${stack}`;
    await sh('beta', 'mkdir -p "$1" && echo "services: {}" > "$1/docker-compose.yml"', folder);
    try {
      const run = await runCli(['migrate', 'alpha', 'beta', stack, '--dry-run', '--json']);
      expect({ exitCode: run.exitCode, stderr: run.stderr }).toEqual({ exitCode: 0, stderr: '' });
      const plan = JSON.parse(run.stdout) as MigrationPlan;
      expect(plan.refusals).toEqual([{ reason: expect.stringMatching(new RegExp(`^beta already has a stack "${stack}" .*--force does not apply`)), forceApplies: false }]);
      const text = await runCli(['migrate', 'alpha', 'beta', stack, '--dry-run']);
      expect(text.stdout).toMatch(new RegExp(`pre-flight on the hosts now would refuse: beta already has a stack "${stack}"`));
    } finally {
      await sh('beta', 'rm -rf "$1"', folder);
    }
  });

  it('moves the running stack to beta: seeded while running, the rest after the stop, verified, running only on beta', async () => {
    const run = await runCli(['migrate', 'alpha', 'beta', stack, '--json']);
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as { mode: string; seed: { results: { service: string; ok: boolean; error: { name: string } | null }[] }; final: { services_transferred: number; results: { service: string; mode: string; sourcePreparation: string }[] }; verified: unknown[]; downtimeSeconds: number };
    expect(report.mode).toBe('low-downtime');
    // The plain directory in use could not be converted while running: deferred to after the stop.
    expect(report.seed.results.find((r) => r.service.endsWith('mariadb'))?.error?.name).toBe('ServicePathInUseError');
    expect(report.seed.results.find((r) => r.service.endsWith('-authelia'))?.ok).toBe(true);
    expect(report.final.services_transferred).toBe(3);
    expect(report.final.results.find((r) => r.service.endsWith('-authelia'))?.mode).toBe('incremental');
    expect(report.final.results.find((r) => r.service.endsWith('mariadb'))).toMatchObject({ mode: 'full', sourcePreparation: 'converted' });
    expect(report.verified).toHaveLength(3);

    const onBeta = (await listContainers(hosts.beta)).filter((c) => c.stack === stack);
    const onAlpha = (await listContainers(hosts.alpha)).filter((c) => c.stack === stack);
    expect(onBeta.map((c) => c.state)).toEqual(['running', 'running', 'running']);
    expect(onAlpha).toEqual([]);
    // Data on beta is alpha's final state (alpha's copy no longer changes), plus what the service wrote since.
    const source = await readManifest(hosts.alpha.transport, `/srv/alpha/appdata/${stack}-authelia-mariadb`);
    const target = await readManifest(hosts.beta.transport, `/srv/beta/appdata/${stack}-authelia-mariadb`);
    expect(compareManifests(source, target)).toEqual([]);
    const heartbeatAlpha = (await sh('alpha', 'wc -l < "$1"', `/srv/alpha/appdata/${stack}-authelia/heartbeat.log`)).stdout.trim();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const heartbeatBeta = (await sh('beta', 'wc -l < "$1"', `/srv/beta/appdata/${stack}-authelia/heartbeat.log`)).stdout.trim();
    expect(Number(heartbeatBeta)).toBeGreaterThan(Number(heartbeatAlpha));
    const compose = (await sh('beta', 'cat "$1"', `/srv/beta/compose/${stack}/docker-compose.yml`)).stdout;
    expect(compose).toBe(authStackFile(stack, 'beta'));
  });

  it('journals the migration: each phase in order, and the outcome', async () => {
    const list = JSON.parse((await runCli(['migrations', 'list', '--json'])).stdout) as { id: string; stack: string; status: string }[];
    const mine = list.filter((m) => m.stack === stack);
    expect(mine.map((m) => m.status)).toEqual(['succeeded']);
    const shown = JSON.parse((await runCli(['migrations', 'show', mine[0]?.id ?? '', '--json'])).stdout) as { phases: { phase: string }[] };
    expect(shown.phases.map((p) => p.phase)).toEqual(['preflight', 'seed', 'stack-folder', 'stop', 'final-sync', 'verify', 'folder-sync', 'start']);
  });

  it('refuses to move it again onto a host that has it, changing nothing', async () => {
    const before = await state('beta');
    const run = await runCli(['migrate', 'alpha', 'beta', stack]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/refused \(nothing was changed\)/);
    expect(await state('beta')).toBe(before);
  });
});

describe('docker-mcp migrate back (ZFS)', () => {
  it('moves the stack back to alpha, sending only what changed since it left', async () => {
    const stack = `${prefix}-auth`;
    const run = await runCli(['migrate', 'beta', 'alpha', stack, '--json']);
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as { seed: { results: { mode: string }[] }; final: { results: { mode: string; bytes: number }[] } };
    // alpha still has the snapshot it sent from: even the seed is incremental.
    expect(report.seed.results.map((r) => r.mode)).toEqual(['incremental', 'incremental', 'incremental']);
    expect(report.final.results.map((r) => r.mode)).toEqual(['incremental', 'incremental', 'incremental']);
    const mariadbBytes = report.final.results[1]?.bytes ?? Infinity;
    expect(mariadbBytes).toBeLessThan(1_000_000); // its 3 MB file did not travel again
    expect((await listContainers(hosts.alpha)).filter((c) => c.stack === stack).map((c) => c.state)).toEqual(['running', 'running', 'running']);
    expect((await listContainers(hosts.beta)).filter((c) => c.stack === stack)).toEqual([]);
    const compose = (await sh('alpha', 'cat "$1"', `/srv/alpha/compose/${stack}/docker-compose.yml`)).stdout;
    expect(compose).toBe(authStackFile(stack, 'alpha'));
  });
});

describe('docker-mcp migrate (rollback, rsync, carried images)', () => {
  it('rolls back when compose up fails on the target (a broken image there): source running again, data intact', async () => {
    const stack = `${prefix}-bad`;
    const image = `local/${prefix}-bad:1`;
    // Same tag on both hosts; beta's is an empty image with no shell, so nothing can start there.
    await sh('alpha', 'docker tag local/busybox:test "$1"', image);
    await sh('beta', 'tar -cf - -T /dev/null | docker import - "$1" >/dev/null', image);
    await sh('alpha', 'mkdir -p "$1" && echo data > "$1/table.ibd"', `/srv/alpha/appdata/${stack}-authelia-mariadb`);
    await deployStack(hosts.alpha, stack, authStackFile(stack, 'alpha', image));
    const path = `/srv/alpha/appdata/${stack}-authelia-mariadb`;
    const before = await readManifest(hosts.alpha.transport, path); // nothing in the stack writes there

    const error = await migrateStack(hosts.alpha, hosts.beta, stack, { startTimeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationFailedError);
    expect((error as MigrationFailedError).rolledBack.join('; ')).toMatch(/started again on alpha/);
    expect((await listContainers(hosts.alpha)).filter((c) => c.stack === stack && c.state === 'running')).toHaveLength(3);
    expect((await listContainers(hosts.beta)).filter((c) => c.stack === stack)).toEqual([]);
    expect((await sh('beta', 'ls /srv/beta/compose')).stdout).not.toContain(stack);
    expect(compareManifests(before, await readManifest(hosts.alpha.transport, path)).filter((d) => d.field !== 'mtime')).toEqual([]);
  });

  it('moves a stack to a host without ZFS by rsync, cold', async () => {
    const stack = `${prefix}-rs`;
    const image = `local/${prefix}-only-alpha:1`;
    await sh('alpha', 'docker tag local/busybox:test "$1"', image);
    await sh('alpha', 'mkdir -p "$1" && echo keep > "$1/.dot" && head -c 200000 /dev/urandom > "$1/blob"', `/srv/alpha/appdata/${stack}-authelia-mariadb`);
    await deployStack(hosts.alpha, stack, authStackFile(stack, 'alpha', image));
    const run = await runCli(['migrate', 'alpha', 'gamma', stack, '--cold', '--json']);
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as { mode: string; seed: unknown; imagesCarried: string[]; final: { results: { method: string }[] }; verified: unknown[] };
    expect(report).toMatchObject({ mode: 'cold', seed: null, imagesCarried: [image] });
    expect(report.final.results.map((r) => r.method)).toEqual(['rsync', 'rsync', 'rsync']);
    expect(report.verified).toHaveLength(3);
    expect((await listContainers(hosts.gamma)).filter((c) => c.stack === stack).map((c) => c.state)).toEqual(['running', 'running', 'running']);
    expect((await sh('gamma', 'cat "$1/.dot"', `/srv/gamma/appdata/${stack}-authelia-mariadb`)).stdout).toBe('keep\n');
  });
});
