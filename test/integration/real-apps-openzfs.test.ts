/**
 * Real apps' own layouts on OpenZFS 2.3 (the guests), delta → epsilon
 * (issue 24): jellyfin's linuxserver.io paths nested in their app folder
 * (`appdata/jellyfin/config` and `/cache`, no dataset between) move as the
 * app folder's one dataset; n8n's `DATA_FOLDER=…/n8n/` makes compose resolve
 * `…/n8n//.n8n`, a dataset OpenZFS made (`.n8n`, a leading dot), moved as it
 * is; the host's time zone is provided by the target, and a host path the
 * target lacks is refused at pre-flight, naming it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listContainers } from '../../src/docker/containers.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { migrateStack } from '../../src/migration/execute.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { compareManifests, readManifest } from '../../src/transfer/manifest.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { testbedHost } from './testbed.js';

type Id = 'delta' | 'epsilon';
const hosts = {} as Record<Id, DockerHost>;
const prefix = 'd-';
const APPDATA: Record<Id, string> = { delta: '/srv/appdata', epsilon: '/mnt/appdata' };
const COMPOSE: Record<Id, string> = { delta: '/srv/compose', epsilon: '/opt/stacks' };
const GUEST_TIMEOUT_MS = 900_000;
let stateDir: string;
const journalDir = () => path.join(stateDir, 'migrations');
const sh = (id: Id, script: string, ...args: string[]) =>
  hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 300_000, okExitCodes: Array.from({ length: 256 }, (_, code) => code) });

const env = (appdata: string) => `# n8n's .env, as its guide writes it
DATA_FOLDER=${appdata}/d-n8n/
`;
const APPS = `services:
  jellyfin:
    image: local/busybox:test
    command: ["sleep", "3600"]
    init: true
    network_mode: none
    volumes:
      - ${APPDATA.delta}/d-jf/config:/config
      - ${APPDATA.delta}/d-jf/cache:/cache
      - /etc/localtime:/etc/localtime:ro
    restart: unless-stopped
  n8n:
    image: local/busybox:test
    command: ["sleep", "3600"]
    init: true
    network_mode: none
    volumes:
      - \${DATA_FOLDER}/.n8n:/home/node/.n8n
    restart: always
`;

async function cleanUp(): Promise<void> {
  await Promise.all((['delta', 'epsilon'] as const).map((id) => cleanUpHost(id)));
}

async function cleanUpHost(id: 'delta' | 'epsilon'): Promise<void> {
  await sh(id, 'docker ps -aq --filter "name=^$1" | xargs -r docker rm -f >/dev/null; docker network ls -q --filter "name=^$1" | xargs -r docker network rm >/dev/null 2>&1; true', prefix);
  const listed = await hosts[id].transport.exec(command(['zfs', 'list', '-H', '-o', 'name', '-r', 'tank/appdata']));
  const ours = listed.stdout.split('\n').filter((name) => name.startsWith(`tank/appdata/${prefix}`)).sort().reverse();
  for (const name of ours) await new ZfsHost(hosts[id].transport).destroyDataset(name);
  await sh(id, 'rm -rf "$1"/"$3"* "$2"/"$3"* /run/d-dbus', APPDATA[id], COMPOSE[id], prefix);
}

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'd-journal-'));
  for (const id of ['delta', 'epsilon'] as const) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  await cleanUp();
}, GUEST_TIMEOUT_MS);

afterAll(async () => {
  await cleanUp();
  for (const host of Object.values(hosts)) await host.transport.close();
  await rm(stateDir, { recursive: true, force: true });
}, GUEST_TIMEOUT_MS);

describe('apps laid out as their guides say, delta → epsilon', () => {
  it('moves nested paths as their app folder and a ".n8n" dataset as it is, data equal, every service running', async () => {
    const dir = `${COMPOSE.delta}/d-apps`;
    const setUp = await sh(
      'delta',
      [
        'set -e',
        'mkdir -p "$1/d-jf/config" "$1/d-jf/cache/covers" "$2"',
        'echo "<ServerConfiguration/>" > "$1/d-jf/config/system.xml"; head -c 200000 /dev/urandom > "$1/d-jf/cache/covers/1.jpg"',
        // n8n's folder as a user on OpenZFS makes it: a dataset named .n8n.
        'zfs create -p tank/appdata/d-n8n/.n8n',
        'echo "{}" > "$1/d-n8n/.n8n/config"',
        'printf "%s" "$3" > "$2/.env"',
        'printf "%s" "$4" > "$2/docker-compose.yml"',
        'cd "$2" && docker compose up -d --quiet-pull 2>&1',
      ].join('\n'),
      APPDATA.delta,
      dir,
      env(APPDATA.delta),
      APPS,
    );
    expect(setUp.exitCode, setUp.stdout + setUp.stderr).toBe(0);
    const paths = (id: Id) => [`${APPDATA[id]}/d-jf`, `${APPDATA[id]}/d-n8n/.n8n`];
    const before = await Promise.all(paths('delta').map((p) => readManifest(hosts.delta.transport, p, { hashes: true })));

    const report = await migrateStack(hosts.delta, hosts.epsilon, 'd-apps', { journalDir: journalDir() });
    expect(report.final.results.map((r) => [r.sourcePath, r.method, r.targetDataset]).sort()).toEqual([
      [`${APPDATA.delta}/d-jf`, 'zfs', 'tank/appdata/d-jf'],
      [`${APPDATA.delta}/d-n8n/.n8n`, 'zfs', 'tank/appdata/d-n8n/.n8n'],
    ]);
    expect(report.preflight.hostProvided?.join('; ')).toMatch(/^\/etc\/localtime \(the host's time zone, regular file\)$/);
    const after = await Promise.all(paths('epsilon').map((p) => readManifest(hosts.epsilon.transport, p, { hashes: true })));
    expect(before.flatMap((m, i) => compareManifests(m, after[i] as typeof m, { ignoreRootMtime: true }))).toEqual([]);
    expect((await sh('delta', 'zfs list -H -o name tank/appdata/d-jf')).stdout.trim()).toBe('tank/appdata/d-jf');
    expect((await sh('epsilon', 'cat "$1/d-apps/.env"', COMPOSE.epsilon)).stdout).toBe(env(APPDATA.epsilon));
    const running = (await listContainers(hosts.epsilon)).filter((c) => c.stack === 'd-apps' && c.state === 'running').map((c) => c.service).sort();
    expect(running).toEqual(['jellyfin', 'n8n']);
  }, GUEST_TIMEOUT_MS);

  it('refuses at pre-flight a host path the target does not provide, naming it and what to do; nothing changes', async () => {
    const dir = `${COMPOSE.delta}/d-ha`;
    const compose = `services:\n  homeassistant:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    init: true\n    network_mode: none\n    volumes:\n      - ${APPDATA.delta}/d-ha:/config\n      - /etc/localtime:/etc/localtime:ro\n      - /run/d-dbus:/run/dbus:ro\n`;
    // D-Bus running on delta: its socket in the folder (an empty one, as Docker makes, would be made on epsilon the same way).
    const setUp = await sh('delta', 'set -e; mkdir -p /run/d-dbus "$1/d-ha" "$2"; touch /run/d-dbus/system_bus_socket; printf "%s" "$3" > "$2/docker-compose.yml"; cd "$2" && docker compose up -d 2>&1', APPDATA.delta, dir, compose);
    expect(setUp.exitCode, setUp.stdout).toBe(0);
    await expect(migrateStack(hosts.delta, hosts.epsilon, 'd-ha', { journalDir: journalDir(), force: true })).rejects.toThrow(
      /homeassistant: \/run\/d-dbus \(a runtime file or socket of the host\) is directory on delta, missing on epsilon\. --force does not apply.*Provide it on epsilon first/,
    );
    expect((await sh('epsilon', 'ls -A "$1"', COMPOSE.epsilon)).stdout).not.toContain('d-ha');
    expect((await listContainers(hosts.delta)).filter((c) => c.stack === 'd-ha').map((c) => c.state)).toEqual(['running']);
  }, GUEST_TIMEOUT_MS);
});
