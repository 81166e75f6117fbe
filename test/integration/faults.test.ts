/**
 * Migrations under faults, on the real testbed. Each case breaks something
 * real at a precise phase (the engine's progress events say when a phase
 * begins, before its side effects), then checks what users care about: the
 * source's data is unchanged (manifest), the stack runs on exactly one host,
 * and a re-run succeeds once the fault is gone.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { listContainers } from '../../src/docker/containers.js';
import { deployStack } from '../../src/docker/stacks.js';
import { migrateStack, type MigrationOptions } from '../../src/migration/execute.js';
import { listMigrations, readMigration } from '../../src/migration/journal.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { compareManifests, readManifest, type Manifest } from '../../src/transfer/manifest.js';
import type { ProgressEvent } from '../../src/transfer/progress.js';
import { routeKeyMarker } from '../../src/transfer/route-key.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { createAltBeta, type AltHost } from './alt-host.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

const prefix = `f${process.pid}`;
const journalDir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-faults-journal-'));
let alpha: DockerHost;
let beta: DockerHost;
let alt: AltHost;
let altBeta: DockerHost;

/** Two services with static data (so "unchanged" is exact): a dataset with `mb` MiB of random data, and a plain directory. */
function staticStack(stack: string): string {
  const service = (name: string) => `  ${name}:
    image: local/busybox:test
    command: ["sleep", "3600"]
    network_mode: none
    init: true
    volumes:
      - /srv/alpha/appdata/${stack}-${name}:/data
`;
  return `services:\n${service('app')}${service('db')}`;
}

async function deployStatic(stack: string, mb: number): Promise<void> {
  await new ZfsHost(alpha.transport).createDataset(`alpha/appdata/${stack}-app`);
  await alpha.transport.exec(
    command(['sh', '-c', 'head -c "$3" /dev/urandom > "$1/blob" && echo cfg > "$1/.hidden" && mkdir -p "$2" && echo row > "$2/table"', 'sh', `/srv/alpha/appdata/${stack}-app`, `/srv/alpha/appdata/${stack}-db`, String(mb * 1024 * 1024)]),
    { timeoutMs: 120_000 },
  );
  await deployStack(alpha, stack, staticStack(stack));
}

async function sourceManifests(stack: string): Promise<Manifest[]> {
  return Promise.all(['app', 'db'].map((name) => readManifest(alpha.transport, `/srv/alpha/appdata/${stack}-${name}`, { hashes: true })));
}

async function runningOn(target: DockerHost, stack: string): Promise<number> {
  return (await listContainers(target)).filter((c) => c.stack === stack && c.state === 'running').length;
}

/** Migrate, calling `inject` (synchronously, before the phase acts) when `when` matches an event. */
function migrateWithFault(stack: string, target: DockerHost, when: (event: ProgressEvent) => boolean, inject: () => void, options: MigrationOptions = {}) {
  let injected = false;
  let injectError: unknown;
  return migrateStack(alpha, target, stack, {
    journalDir,
    ...options,
    onProgress: (event) => {
      if (injected || !when(event)) return;
      injected = true;
      try {
        inject();
      } catch (error) {
        injectError = error;
      }
    },
  }).finally(() => {
    expect(injected, 'the fault was injected').toBe(true);
    expect(injectError, 'the fault was injected without error').toBeUndefined();
  });
}

/** After a fault: source data as before, the stack running on the source only; then the re-run succeeds. */
async function expectRecovered(stack: string, target: DockerHost, before: Manifest[], options: MigrationOptions = {}): Promise<void> {
  const after = await sourceManifests(stack);
  for (const [i, manifest] of after.entries()) expect(compareManifests(before[i]!, manifest)).toEqual([]);
  expect(await runningOn(alpha, stack)).toBe(2);
  expect(await runningOn(target, stack)).toBe(0);

  const report = await migrateStack(alpha, target, stack, { journalDir, ...options });
  expect(report.verified).toHaveLength(2);
  expect(await runningOn(target, stack)).toBe(2);
  expect(await runningOn(alpha, stack)).toBe(0);
}

/** After a failed run that reached its target: the journal holds no key of it, and the target login's authorized_keys no line of it. */
async function expectKeyTakenAway(stack: string, target: DockerHost): Promise<void> {
  const ended = (await listMigrations(journalDir)).filter((m) => m.stack === stack && m.status === 'failed');
  expect(ended.length).toBeGreaterThan(0);
  const authorizedKeys = await target.transport.exec(command(['sh', '-c', 'cat "$(getent passwd "$1" | cut -d: -f6)/.ssh/authorized_keys"', 'sh', target.host.user]), { okExitCodes: [0, 1] });
  for (const migration of ended) {
    // null: issued, then revoked (never issued would leave it out).
    expect(migration.routeKey).toBeNull();
    expect(authorizedKeys.stdout).not.toContain(routeKeyMarker(migration.id));
  }
}

const phaseStarts = (phase: string) => (event: ProgressEvent) => event.type === 'migration-phase' && event.phase === phase;

beforeAll(async () => {
  for (const [id, set] of [['alpha', (h: DockerHost) => (alpha = h)], ['beta', (h: DockerHost) => (beta = h)]] as const) {
    const host = await testbedHost(id);
    set({ host, transport: new SshTransport(host) });
  }
  alt = await createAltBeta(`${prefix}-alt`);
  altBeta = { host: alt.config, transport: new SshTransport(alt.config) };
});

afterAll(async () => {
  await cleanUpPrefix(alpha, 'alpha', prefix);
  await cleanUpPrefix(beta, 'beta', prefix);
  await altBeta.transport.close();
  await alt.remove((dataset) => new ZfsHost(beta.transport).destroyDataset(dataset));
  await alpha.transport.close();
  await beta.transport.close();
  rmSync(journalDir, { recursive: true, force: true });
});

describe('migration under faults', () => {
  it('the SSH connection carrying the data is killed mid-stream (cold: after the stop): rolled back, then a re-run succeeds', async () => {
    const stack = `${prefix}-ssh`;
    await deployStatic(stack, 192);
    const before = await sourceManifests(stack);
    const killStream = () => {
      // Every ssh process and remote shell carrying this stack's receive, on this one machine.
      execFileSync('pkill', ['-KILL', '-f', `receive.*${alt.dataset}/${stack}`]);
    };
    await expect(migrateWithFault(stack, altBeta, (e) => e.type === 'transfer-progress', killStream, { cold: true })).rejects.toThrow(/failed at final-sync: data transfer failed.*rolled back: .*started again on alpha/s);
    await expectKeyTakenAway(stack, altBeta);
    await expectRecovered(stack, altBeta, before);
  });

  it('the seed stream is killed (the stack folder copied beside it): rolled back before any stop, the folder taken away, a re-run succeeds', async () => {
    const stack = `${prefix}-seed`;
    await deployStatic(stack, 96);
    const before = await sourceManifests(stack);
    const killSeed = () => execFileSync('pkill', ['-KILL', '-f', `receive.*${alt.dataset}/${stack}`]);
    await expect(migrateWithFault(stack, altBeta, (e) => e.type === 'transfer-progress', killSeed)).rejects.toThrow(
      new RegExp(`failed at seed: seeding failed before anything was stopped.*rolled back: .*removed ${prefix}-alt:\\S+-compose/${stack}`, 's'),
    );
    // The folder's copy had started beside the seed; nothing was stopped.
    const [journalled] = (await listMigrations(journalDir)).filter((m) => m.stack === stack);
    expect(journalled?.phases.filter((p) => p.state === 'started').map((p) => p.phase)).toEqual(['preflight', 'seed', 'stack-folder', 'rollback']);
    const folder = await altBeta.transport.exec(command(['test', '-e', `${alt.config.compose_path}/${stack}`]), { okExitCodes: [0, 1] });
    expect(folder.exitCode, 'the copied stack folder was taken away').toBe(1);
    await expectKeyTakenAway(stack, altBeta);
    await expectRecovered(stack, altBeta, before);
  });

  it("the target's sshd dies after the stop: the source runs again; a re-run succeeds once the host is back", async () => {
    const stack = `${prefix}-down`;
    await deployStatic(stack, 8);
    const before = await sourceManifests(stack);
    await expect(migrateWithFault(stack, altBeta, phaseStarts('final-sync'), () => alt.killSshd())).rejects.toThrow(/is unreachable.*rolled back: .*started again on alpha/s);
    // The migration's key could not be taken off an unreachable target: the journal keeps it.
    const [failed] = (await listMigrations(journalDir)).filter((m) => m.stack === stack);
    expect(failed?.routeKey?.marker).toBe(routeKeyMarker(failed!.id));
    await alt.startSshd();
    await expectRecovered(stack, altBeta, before);
    // The re-run between the same hosts took it away.
    const authorizedKeys = await altBeta.transport.exec(command(['cat', '--', failed!.routeKey!.authorizedKeysFile]), { okExitCodes: [0, 1] });
    expect(authorizedKeys.stdout).not.toContain(failed!.routeKey!.marker);
    expect((await readMigration(failed!.id, journalDir)).routeKey).toBeNull();
  });

  it('the target pool fills up mid-receive: rolled back, then a re-run succeeds once there is room', async () => {
    const stack = `${prefix}-full`;
    await deployStatic(stack, 64);
    const before = await sourceManifests(stack);
    await expect(migrateWithFault(stack, altBeta, phaseStarts('final-sync'), () => alt.leaveRoom(16 * 1024 * 1024), { cold: true })).rejects.toThrow(/failed at final-sync: .*out of space.*rolled back: .*started again on alpha/s);
    alt.removeQuota();
    await expectRecovered(stack, altBeta, before, { cold: true });
  });

  it("the target's Docker engine is gone before the start: rolled back, then a re-run succeeds", async () => {
    const stack = `${prefix}-engine`;
    await deployStatic(stack, 8);
    const before = await sourceManifests(stack);
    // The engine goes away under compose, or under the engine query before it: either way the start fails.
    const failed = migrateWithFault(stack, altBeta, phaseStarts('start'), () => alt.stopDocker());
    // Back for the tests after this one, whatever this one's outcome.
    await expect(failed.finally(() => alt.startDocker())).rejects.toThrow(/failed at start: .*(docker-compose|Docker daemon).*rolled back: .*started again on alpha/s);
    await expectKeyTakenAway(stack, altBeta);
    await expectRecovered(stack, altBeta, before);
  });

  it('two migrations of the same stack at once: one runs, the other is refused naming it', async () => {
    const stack = `${prefix}-twice`;
    await deployStatic(stack, 8);
    const results = await Promise.allSettled([migrateStack(alpha, beta, stack, { journalDir }), migrateStack(alpha, beta, stack, { journalDir })]);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(String(refused[0]!.reason)).toMatch(new RegExp(`migration ${stack}-\\S+ of stack ${stack} is running`));
    expect(await runningOn(beta, stack)).toBe(2);
    expect(await runningOn(alpha, stack)).toBe(0);
  });

  it('a target dataset of that name holding foreign data: refused, the foreign data and the source untouched', async () => {
    const stack = `${prefix}-foreign`;
    await deployStatic(stack, 8);
    const before = await sourceManifests(stack);
    const foreign = `${alt.dataset}/${stack}-app`;
    execFileSync('zfs', ['create', foreign]);
    execFileSync('sh', ['-c', 'echo "somebody else\'s" > "$1/theirs.txt"', 'sh', `/srv/beta/${prefix}-alt/${stack}-app`]);
    const foreignBefore = await readManifest(altBeta.transport, `/srv/beta/${prefix}-alt/${stack}-app`, { hashes: true });

    await expect(migrateStack(alpha, altBeta, stack, { journalDir })).rejects.toThrow(new RegExp(`${stack}-app`));
    expect(compareManifests(foreignBefore, await readManifest(altBeta.transport, `/srv/beta/${prefix}-alt/${stack}-app`, { hashes: true }))).toEqual([]);
    const after = await sourceManifests(stack);
    for (const [i, manifest] of after.entries()) expect(compareManifests(before[i]!, manifest)).toEqual([]);
    expect(await runningOn(alpha, stack)).toBe(2);
    expect(await runningOn(altBeta, stack)).toBe(0);
    // The route key is made while pre-flight checks the target: the refusal waits for it and takes it away.
    const refused = (await listMigrations(journalDir)).filter((m) => m.stack === stack);
    expect(refused.length).toBeGreaterThan(0);
    const authorizedKeys = await altBeta.transport.exec(command(['sh', '-c', 'cat "$(getent passwd "$1" | cut -d: -f6)/.ssh/authorized_keys"', 'sh', altBeta.host.user]), { okExitCodes: [0, 1] });
    for (const migration of refused) {
      expect(migration.routeKey).toBeNull();
      expect(authorizedKeys.stdout).not.toContain(routeKeyMarker(migration.id));
    }
  });
});
