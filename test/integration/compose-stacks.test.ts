/**
 * Stacks written the way self-hosted install guides lay them out, read as
 * compose resolves them: `.env` driving paths and image tags, an override
 * file, a project name that differs from its folder; moved between hosts of
 * different layouts (delta /srv/appdata → epsilon /mnt/appdata), and the
 * Immich-shaped one back (with its named volume, whose contents move too),
 * and on compose v1 (alpha → gamma).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { listContainers } from '../../src/docker/containers.js';
import type { StackDataReport } from '../../src/docker/stack-source.js';
import type { StackSummary } from '../../src/docker/stacks.js';
import type { HostRow } from '../../src/host/fan-out.js';
import { migrateStack } from '../../src/migration/execute.js';
import { migrateStacks } from '../../src/migration/migrate-many.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { compareManifests, readManifest, type Manifest } from '../../src/transfer/manifest.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { inspectVolume, volumeManifest } from '../../src/docker/volumes.js';
import { runCli } from './cli.js';
import { testbedHost } from './testbed.js';

type Id = 'alpha' | 'gamma' | 'delta' | 'epsilon';
const IDS: readonly Id[] = ['alpha', 'gamma', 'delta', 'epsilon'];
const hosts = {} as Record<Id, DockerHost>;
const prefix = 'h12b-';
const APPDATA: Record<Id, string> = { alpha: '/srv/alpha/appdata', gamma: '/srv/gamma/appdata', delta: '/srv/appdata', epsilon: '/mnt/appdata' };
const COMPOSE: Record<Id, string> = { alpha: '/srv/alpha/compose', gamma: '/srv/gamma/compose', delta: '/srv/compose', epsilon: '/opt/stacks' };
const GUEST_TIMEOUT_MS = 900_000;
const PORT = 12284;

let stateDir: string;
const journalDir = () => path.join(stateDir, 'migrations');
const sh = (id: Id, script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 300_000 });
const cli = (args: readonly string[]) => runCli(args, { DOCKER_MCP_STATE_DIR: stateDir }, undefined, 300_000);
const cat = async (id: Id, file: string) => (await hosts[id].transport.exec(command(['cat', '--', file]))).stdout;

/** Immich's layout: .env names the upload and database folders and the version; the project is named in the file, not by its folder. */
const photosEnv = (appdata: string) => `# You can find documentation for all the supported env variables at https://immich.app/docs/install/environment-variables

# The location where your uploaded files are stored
UPLOAD_LOCATION=${appdata}/h12b-immich-library
# The location where your database files are stored
DB_DATA_LOCATION=${appdata}/h12b-immich-postgres

# The Immich version to use. You can pin this to a specific version like "v1.71.0"
IMMICH_VERSION=test
TZ=Etc/UTC
`;
const PHOTOS_COMPOSE = `#
# WARNING: Make sure to use the docker-compose.yml of the current release:
#
name: h12b-immich

services:
  immich-server:
    image: local/busybox:\${IMMICH_VERSION:-release}
    command: ["sleep", "3600"]
    init: true
    volumes:
      # Do not edit the next line. If you want to change the media storage location on your system, edit the value of UPLOAD_LOCATION in the .env file
      - \${UPLOAD_LOCATION}:/usr/src/app/upload
      - model-cache:/cache
    env_file:
      - .env
    ports:
      - '${PORT}:2283'
    restart: always

  database:
    image: local/busybox:\${IMMICH_VERSION:-release}
    command: ["sleep", "3600"]
    init: true
    network_mode: none
    volumes:
      # Do not edit the next line. If you want to change the database storage location on your system, edit the value of DB_DATA_LOCATION in the .env file
      - \${DB_DATA_LOCATION}:/var/lib/postgresql/data
    restart: always

volumes:
  model-cache:
`;

/** A linuxserver.io layout: PUID/PGID/TZ and the appdata root in .env, a cache mount in docker-compose.override.yml. */
const mediaEnv = (appdata: string) => `# linuxserver.io images read these
PUID=1000
PGID=1000
TZ=Etc/UTC
# where every container keeps its config
CONFIG_ROOT=${appdata}
BB_TAG=test
`;
const MEDIA_COMPOSE = `---
services:
  jellyfin:
    image: local/busybox:\${BB_TAG:-latest}
    container_name: h12b-jellyfin
    command: ["sleep", "3600"]
    init: true
    network_mode: none
    environment:
      - PUID=\${PUID}
      - PGID=\${PGID}
      - TZ=\${TZ}
    volumes:
      - \${CONFIG_ROOT}/h12b-jellyfin:/config
      - ./transcodes:/transcodes
    restart: unless-stopped
`;
const mediaOverride = (appdata: string) => `services:
  jellyfin:
    volumes:
      - ${appdata}/h12b-jellyfin-cache:/cache
`;

async function writeFiles(id: Id, dir: string, files: Record<string, string>): Promise<void> {
  await sh(id, 'mkdir -p "$1"', dir);
  for (const [name, text] of Object.entries(files)) await hosts[id].transport.exec(command(['sh', '-c', 'cat > "$1"', 'sh', `${dir}/${name}`]), { input: text });
}

async function cleanUp(): Promise<void> {
  await Promise.all(
    IDS.map(async (id) => {
      await sh(id, 'docker ps -aq --filter "name=^$1" | xargs -r docker rm -f >/dev/null; docker network ls -q --filter "name=^$1" | xargs -r docker network rm >/dev/null 2>&1; true', prefix);
      if (id !== 'gamma') {
        const dataset = id === 'alpha' ? 'alpha/appdata' : 'tank/appdata';
        const listed = await hosts[id].transport.exec(command(['zfs', 'list', '-H', '-o', 'name', '-r', dataset]));
        const ours = listed.stdout.split('\n').filter((name) => name.startsWith(`${dataset}/${prefix}`)).sort().reverse();
        // Through the engine's own destroy: it releases docker-mcp's holds, which a plain destroy stops at.
        for (const name of ours) await new ZfsHost(hosts[id].transport).destroyDataset(name);
      }
      await sh(id, 'rm -rf "$1"/"$3"* "$2"/"$3"* "$2"/."$3"*', APPDATA[id], COMPOSE[id], prefix);
      await sh(id, 'docker volume ls -q | grep "^$1" | xargs -r docker volume rm >/dev/null; true', prefix);
    }),
  );
}

async function running(id: Id, project: string): Promise<string[]> {
  return (await listContainers(hosts[id])).filter((c) => c.stack === project && c.state === 'running').map((c) => c.service ?? c.name).sort();
}

const manifests = (id: Id, paths: readonly string[]) => Promise.all(paths.map((p) => readManifest(hosts[id].transport, p, { hashes: true })));
const differences = (before: readonly Manifest[], after: readonly Manifest[]) =>
  before.flatMap((manifest, index) => compareManifests(manifest, after[index] as Manifest, { ignoreRootMtime: true }));

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'h12b-journal-'));
  for (const id of IDS) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  await cleanUp();
}, 600_000);

afterAll(async () => {
  await cleanUp();
  for (const host of Object.values(hosts)) await host.transport.close();
  await rm(stateDir, { recursive: true, force: true });
}, 600_000);

describe('install-guide stacks delta (/srv/appdata) → epsilon (/mnt/appdata) → delta', () => {
  const photosDir = `${COMPOSE.delta}/h12b-photos`;
  const mediaDir = `${COMPOSE.delta}/h12b-media`;
  const dataPaths = (id: Id) => [
    `${APPDATA[id]}/h12b-immich-library`,
    `${APPDATA[id]}/h12b-immich-postgres`,
    `${APPDATA[id]}/h12b-jellyfin`,
    `${APPDATA[id]}/h12b-jellyfin-cache`,
  ];
  let original: Manifest[];
  let originalCache: readonly string[];
  const CACHE = 'h12b-immich_model-cache';
  const cacheContents = async (id: Id) => (await volumeManifest(hosts[id].transport, 'local/busybox:test', CACHE)).lines;

  beforeAll(async () => {
    await writeFiles('delta', photosDir, { 'docker-compose.yml': PHOTOS_COMPOSE, '.env': photosEnv(APPDATA.delta) });
    await writeFiles('delta', mediaDir, { 'docker-compose.yml': MEDIA_COMPOSE, 'docker-compose.override.yml': mediaOverride(APPDATA.delta), '.env': mediaEnv(APPDATA.delta) });
    await sh(
      'delta',
      [
        'set -e',
        'mkdir -p "$1/h12b-immich-library/upload/2025" "$1/h12b-immich-postgres" "$1/h12b-jellyfin" "$1/h12b-jellyfin-cache"',
        'head -c 300000 /dev/urandom > "$1/h12b-immich-library/upload/2025/IMG_0001.jpg"',
        'head -c 200000 /dev/urandom > "$1/h12b-immich-postgres/PG_VERSION.data"; chown 999:999 "$1/h12b-immich-postgres/PG_VERSION.data"',
        'echo "<ServerConfiguration/>" > "$1/h12b-jellyfin/system.xml"; echo cached > "$1/h12b-jellyfin-cache/cover.jpg"',
        // Started as the guides say: docker compose up -d in the folder.
        'cd "$2" && docker compose up -d --quiet-pull 2>&1',
        'cd "$3" && docker compose up -d --quiet-pull 2>&1',
      ].join('\n'),
      APPDATA.delta,
      photosDir,
      mediaDir,
    );
    original = await manifests('delta', dataPaths('delta'));
    const filled = await sh('delta', 'docker exec h12b-immich-immich-server-1 sh -c "mkdir -p /cache/clip && head -c 250000 /dev/urandom > /cache/clip/model.onnx && chown -R 1000:1000 /cache/clip"');
    expect(filled.exitCode).toBe(0);
    originalCache = await cacheContents('delta');
  }, GUEST_TIMEOUT_MS);

  it('lists each stack once, by its project name, with the folder it runs from', async () => {
    const rows = JSON.parse((await cli(['stacks', 'list', 'delta', '--json'])).stdout) as HostRow<StackSummary[]>[];
    const stacks = rows[0]?.ok ? rows[0].value.filter((s) => s.name.startsWith(prefix)) : [];
    expect(stacks.map((s) => [s.name, s.foundIn, s.folder, s.running])).toEqual([
      ['h12b-immich', 'both', photosDir, 2],
      ['h12b-media', 'both', mediaDir, 1],
    ]);
  }, GUEST_TIMEOUT_MS);

  it('discover shows each mount as compose resolves it and the file and line its path is written in', async () => {
    const rows = JSON.parse((await cli(['stacks', 'discover', 'delta', '--stack', 'h12b-photos', '--json'])).stdout) as HostRow<StackDataReport[]>[];
    const report = rows[0]?.ok ? rows[0].value[0] : undefined;
    expect(report?.stack).toBe('h12b-immich');
    expect(report?.dataPaths.map((p) => [p.service, p.source, p.underAppdata, p.writtenAt?.file, p.writtenAt?.line, p.writtenAt?.variable])).toEqual([
      ['database', `${APPDATA.delta}/h12b-immich-postgres`, true, `${photosDir}/.env`, 6, 'DB_DATA_LOCATION'],
      ['immich-server', `${APPDATA.delta}/h12b-immich-library`, true, `${photosDir}/.env`, 4, 'UPLOAD_LOCATION'],
      // A named volume: its key, and the line that mounts it.
      ['immich-server', 'model-cache', false, `${photosDir}/docker-compose.yml`, 14, null],
    ]);
  }, GUEST_TIMEOUT_MS);

  it('migrate --dry-run names where each path is written: the .env line, the override file', async () => {
    const run = await cli(['migrate', 'delta', 'epsilon', 'h12b-media', '--dry-run']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(`${APPDATA.delta}/h12b-jellyfin`);
    expect(run.stdout).toContain(`${mediaDir}/.env:6 (CONFIG_ROOT)`);
    expect(run.stdout).toContain(`${mediaDir}/docker-compose.override.yml:4`);
    expect(run.stdout).toContain(`.env: CONFIG_ROOT: CONFIG_ROOT=${APPDATA.delta} → CONFIG_ROOT=${APPDATA.epsilon}`);
  }, GUEST_TIMEOUT_MS);

  it('refuses at pre-flight a port the target holds, naming the container, and an image nobody has; nothing changes', async () => {
    await sh('epsilon', 'docker run -d --name h12b-porthog -p "$1:80" local/busybox:test sleep 3600 >/dev/null', String(PORT));
    await writeFiles('delta', `${COMPOSE.delta}/h12b-ghost`, {
      'compose.yaml': 'services:\n  app:\n    image: local/busybox:${GHOST_TAG:-latest}\n    network_mode: none\n',
      '.env': 'GHOST_TAG=nobody-has-it\n',
    });
    try {
      await expect(migrateStack(hosts.delta, hosts.epsilon, 'h12b-photos', { journalDir: journalDir() })).rejects.toThrow(
        new RegExp(`immich-server publishes ${PORT}/tcp, which h12b-porthog holds on epsilon`),
      );
      await expect(migrateStack(hosts.delta, hosts.epsilon, 'h12b-ghost', { journalDir: journalDir() })).rejects.toThrow(
        /neither host has these images: local\/busybox:nobody-has-it/,
      );
      expect(await running('delta', 'h12b-immich')).toEqual(['database', 'immich-server']);
      expect((await sh('epsilon', 'ls -A "$1"', COMPOSE.epsilon)).stdout).not.toContain(prefix);
    } finally {
      await sh('epsilon', 'docker rm -f h12b-porthog >/dev/null');
      await sh('delta', 'rm -rf "$1"', `${COMPOSE.delta}/h12b-ghost`);
    }
  }, GUEST_TIMEOUT_MS);

  it('moves both there: data equal, .env and override rewritten with comments kept, every service running', async () => {
    // By folder name for one, by project name for the other.
    const results = await migrateStacks(hosts.delta, hosts.epsilon, ['h12b-photos', 'h12b-media'], { journalDir: journalDir() });
    expect(results.map((r) => (r.ok ? r.report.stack : r.error.message))).toEqual(['h12b-immich', 'h12b-media']);
    expect(await running('epsilon', 'h12b-immich')).toEqual(['database', 'immich-server']);
    expect(await running('epsilon', 'h12b-media')).toEqual(['jellyfin']);
    expect(await running('delta', 'h12b-immich')).toEqual([]);
    expect(await cat('epsilon', `${COMPOSE.epsilon}/h12b-photos/.env`)).toBe(photosEnv(APPDATA.epsilon));
    expect(await cat('epsilon', `${COMPOSE.epsilon}/h12b-photos/docker-compose.yml`)).toBe(PHOTOS_COMPOSE);
    expect(await cat('epsilon', `${COMPOSE.epsilon}/h12b-media/.env`)).toBe(mediaEnv(APPDATA.epsilon));
    expect(await cat('epsilon', `${COMPOSE.epsilon}/h12b-media/docker-compose.override.yml`)).toBe(mediaOverride(APPDATA.epsilon));
    expect(differences(original, await manifests('epsilon', dataPaths('epsilon')))).toEqual([]);
    // The named volume came too: same contents, and compose's labels, so compose on epsilon adopts it.
    expect(await cacheContents('epsilon')).toEqual(originalCache);
    expect((await inspectVolume(hosts.epsilon.transport, CACHE))?.labels).toMatchObject({ 'com.docker.compose.project': 'h12b-immich', 'com.docker.compose.volume': 'model-cache' });
  }, GUEST_TIMEOUT_MS);

  // One back (the one with the named volume): the way back is the same code, and each guest move costs minutes of emulation.
  it('moves the Immich-shaped stack back: its files are as they were, data equal, its services running on delta', async () => {
    // What the service wrote to its volume on epsilon is what delta gets, not the stale copy delta kept.
    expect((await sh('epsilon', 'docker exec h12b-immich-immich-server-1 sh -c "echo v2 > /cache/clip/VERSION"')).exitCode).toBe(0);
    const changedCache = await cacheContents('epsilon');
    const results = await migrateStacks(hosts.epsilon, hosts.delta, ['h12b-immich'], { journalDir: journalDir() });
    expect(results.map((r) => (r.ok ? r.report.stack : r.error.message))).toEqual(['h12b-immich']);
    expect(await running('delta', 'h12b-immich')).toEqual(['database', 'immich-server']);
    expect(await running('epsilon', 'h12b-immich')).toEqual([]);
    expect(await cat('delta', `${photosDir}/.env`)).toBe(photosEnv(APPDATA.delta));
    expect(await cat('delta', `${photosDir}/docker-compose.yml`)).toBe(PHOTOS_COMPOSE);
    expect(differences(original.slice(0, 2), await manifests('delta', dataPaths('delta').slice(0, 2)))).toEqual([]);
    expect(await cacheContents('delta')).toEqual(changedCache);
  }, GUEST_TIMEOUT_MS);
});

describe('compose v1: a .env-driven stack alpha → gamma', () => {
  const dir = `${COMPOSE.alpha}/h12b-v1`;
  const env = (appdata: string) => `# paths and versions\nDATA_ROOT=${appdata}\nBB_TAG=test\n`;
  const COMPOSE_V1 = `version: "3.8"
services:
  app:
    image: local/busybox:\${BB_TAG:-latest}
    command: ["sleep", "3600"]
    network_mode: none
    init: true
    volumes:
      - \${DATA_ROOT}/h12b-v1-app:/data
`;

  it('reads it through docker-compose config, rewrites DATA_ROOT in .env and runs it on gamma with the same data', async () => {
    await writeFiles('alpha', dir, { 'docker-compose.yml': COMPOSE_V1, '.env': env(APPDATA.alpha) });
    await sh('alpha', 'set -e; mkdir -p "$1/h12b-v1-app"; head -c 100000 /dev/urandom > "$1/h12b-v1-app/blob"; cd "$2" && docker-compose up -d 2>&1', APPDATA.alpha, dir);
    const [before] = await manifests('alpha', [`${APPDATA.alpha}/h12b-v1-app`]);
    const report = await migrateStack(hosts.alpha, hosts.gamma, 'h12b-v1', { journalDir: journalDir() });
    expect(report.stack).toBe('h12b-v1');
    expect(await running('gamma', 'h12b-v1')).toEqual(['app']);
    expect(await cat('gamma', `${COMPOSE.gamma}/h12b-v1/.env`)).toBe(env(APPDATA.gamma));
    const [after] = await manifests('gamma', [`${APPDATA.gamma}/h12b-v1-app`]);
    expect(differences([before as Manifest], [after as Manifest])).toEqual([]);
  }, 600_000);
});
