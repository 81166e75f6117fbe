/**
 * Named volumes and profiles on the container hosts, from compose v1 to v2
 * (alpha → beta): a start that fails rolls back and removes the volume it
 * created, and only that; the volume's data moves and compose v2 adopts it;
 * a stack started with a profile runs the same services on the target. The
 * guests' round trip with a named volume (delta → epsilon → delta) is in
 * compose-stacks.test.ts, on its Immich-shaped stack.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listContainers } from '../../src/docker/containers.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { inspectVolume, volumeManifest } from '../../src/docker/volumes.js';
import { migrateStack } from '../../src/migration/execute.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { testbedHost } from './testbed.js';

const prefix = 'cvol-';
const HELPER = 'local/busybox:test';
let stateDir: string;
const journalDir = () => path.join(stateDir, 'migrations');

const sh = (host: DockerHost, script: string, ...args: string[]) =>
  host.transport.exec(command(['sh', '-c', script, 'sh', ...args]), { okExitCodes: Array.from({ length: 256 }, (_, code) => code), timeoutMs: 120_000 });
const running = async (host: DockerHost, project: string) =>
  (await listContainers(host)).filter((c) => c.stack === project && c.state === 'running').map((c) => c.service).sort();
const contents = async (host: DockerHost, volume: string) => (await volumeManifest(host.transport, HELPER, volume)).lines;

async function writeStack(host: DockerHost, dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await host.transport.exec(command(['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', `${dir}/${name}`]), { input: text });
  }
}

async function removeVolumes(host: DockerHost): Promise<void> {
  await sh(host, 'docker volume ls -q | grep "^$1" | xargs -r docker volume rm >/dev/null; true', prefix);
}

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'cvol-journal-'));
});

afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

describe('a named volume on compose v1 alpha → v2 beta', () => {
  const hosts = {} as Record<'alpha' | 'beta', DockerHost>;
  const dir = '/srv/alpha/compose/cvol-v1vol';
  const volume = 'cvol-v1vol_data';
  const run = (id: 'alpha' | 'beta', script: string, ...args: string[]) =>
    hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { okExitCodes: Array.from({ length: 256 }, (_, code) => code), timeoutMs: 120_000 });
  const cleanUp = async () => {
    for (const id of ['alpha', 'beta'] as const) {
      await run(id, 'docker ps -aq --filter "name=^$1" | xargs -r docker rm -f >/dev/null; docker network ls -q --filter "name=^$1" | xargs -r docker network rm >/dev/null 2>&1; true', prefix);
      await removeVolumes(hosts[id]);
      await run(id, 'rm -rf /srv/"$1"/compose/"$2"*', id, prefix);
    }
  };

  beforeAll(async () => {
    for (const id of ['alpha', 'beta'] as const) {
      const host = await testbedHost(id);
      hosts[id] = { host, transport: new SshTransport(host) };
    }
    await cleanUp();
  }, 300_000);

  afterAll(async () => {
    await cleanUp();
    for (const host of Object.values(hosts)) await host.transport.close();
  }, 300_000);

  it('a failed start rolls back: the volume it created on beta is removed, the one beta had before is not', async () => {
    // The service runs unless its volume holds /data/stop.
    const failing = `version: "3.8"\nservices:\n  app:\n    image: local/busybox:test\n    command: ["sh", "-c", "test ! -f /data/stop && exec sleep 3600"]\n    network_mode: none\n    volumes:\n      - data:/data\nvolumes:\n  data: {}\n`;
    await writeStack(hosts.alpha, dir, { 'docker-compose.yml': failing });
    expect((await run('alpha', 'cd "$1" && docker-compose up -d 2>&1', dir)).exitCode).toBe(0);
    await run('beta', 'docker volume create cvol-unrelated >/dev/null');
    // The copied data tells the service on beta to exit: a start that never runs.
    expect((await run('alpha', 'docker exec cvol-v1vol_app_1 touch /data/stop')).exitCode).toBe(0);
    await expect(migrateStack(hosts.alpha, hosts.beta, 'cvol-v1vol', { journalDir: journalDir(), startTimeoutMs: 8_000, cold: true })).rejects.toThrow(
      new RegExp(`removed volume beta:${volume}`),
    );
    expect(await inspectVolume(hosts.beta.transport, volume)).toBeNull();
    expect(await inspectVolume(hosts.beta.transport, 'cvol-unrelated')).not.toBeNull();
    expect(await inspectVolume(hosts.alpha.transport, volume)).not.toBeNull();
  }, 300_000);

  it('moves with its data to compose v2, which adopts the volume as its own', async () => {
    const up = await run('alpha', 'docker run --rm -v "$1":/data local/busybox:test sh -c "rm /data/stop && echo from-v1 > /data/ok" && cd "$2" && docker-compose up -d 2>&1', volume, dir);
    expect(up.exitCode, up.stdout).toBe(0);
    const before = await contents(hosts.alpha, volume);
    const report = await migrateStack(hosts.alpha, hosts.beta, 'cvol-v1vol', { journalDir: journalDir() });
    expect(report.volumes?.map((v) => v.volume)).toEqual([volume]);
    expect(await running(hosts.beta, 'cvol-v1vol')).toEqual(['app']);
    expect(await contents(hosts.beta, volume)).toEqual(before);
    const logs = await run('beta', 'cd /srv/beta/compose/cvol-v1vol && docker compose up -d 2>&1');
    expect(logs.stdout).not.toMatch(/already exists but was not created by Docker Compose/);
  }, 300_000);

  it('a stack started with a profile moves with the services of that profile, and runs them on the target', async () => {
    const profiled = `services:\n  app:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n  worker:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n    profiles: ["jobs", "all"]\n  debug:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n    profiles: ["debug"]\n`;
    await writeStack(hosts.alpha, '/srv/alpha/compose/cvol-prof', { 'docker-compose.yml': profiled });
    expect((await run('alpha', 'cd /srv/alpha/compose/cvol-prof && docker-compose --profile jobs up -d 2>&1')).exitCode).toBe(0);
    const report = await migrateStack(hosts.alpha, hosts.beta, 'cvol-prof', { journalDir: journalDir(), cold: true });
    expect(report.stack).toBe('cvol-prof');
    expect(await running(hosts.beta, 'cvol-prof')).toEqual(['app', 'worker']);
    expect(await running(hosts.alpha, 'cvol-prof')).toEqual([]);
  }, 300_000);
});
