/**
 * Real apps' own compose files, as their install guides lay them out, moved
 * as published (issue 24) on the container hosts, compose v1 alpha → v2 beta
 * and back: a stack folder named otherwise than its project
 * (`COMPOSE_PROJECT_NAME` in `.env`, as paperless-ngx does), `DATA_FOLDER`
 * with a trailing slash (n8n's `.env`: compose resolves `…//.n8n`), paths
 * nested in an app folder (the linuxserver.io layout), binds of what the host
 * provides (time zone, Docker socket), a one-shot service others wait for
 * (n8n's initContainer) and an image compose builds (nextcloud's
 * `build: ./proxy`) from a base only the source has.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listContainers } from '../../src/docker/containers.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { imageId } from '../../src/docker/images.js';
import { listStacks } from '../../src/docker/stacks.js';
import { migrateStack, planStackMigration } from '../../src/migration/execute.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

const prefix = 'd-';
const hosts = {} as Record<'alpha' | 'beta', DockerHost>;
let stateDir: string;
const journalDir = () => path.join(stateDir, 'migrations');
const run = (id: 'alpha' | 'beta', script: string, ...args: string[]) =>
  hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { okExitCodes: Array.from({ length: 256 }, (_, code) => code), timeoutMs: 300_000 });

const FOLDER = 'd-cloud-ngx';
const PROJECT = 'd-cloud';
const ENV = `# paperless-ngx names its project here, n8n its data folder (with the slash its guide writes)
COMPOSE_PROJECT_NAME=${PROJECT}
DATA_FOLDER=/srv/alpha/appdata/d-cloud/
`;
const COMPOSE = `services:
  init:
    image: local/busybox:test
    command: ["sh", "-c", "date > /data/init-ran"]
    network_mode: none
    volumes:
      - \${DATA_FOLDER}/.n8n:/data
  app:
    image: local/busybox:test
    command: ["sleep", "3600"]
    init: true
    network_mode: none
    restart: always
    depends_on:
      init:
        condition: service_completed_successfully
    volumes:
      - \${DATA_FOLDER}/.n8n:/home/node/.n8n
      - /srv/alpha/appdata/d-cloud/config:/config
      - /etc/localtime:/etc/localtime:ro
      - /var/run/docker.sock:/var/run/docker.sock
      - data:/var/data
  proxy:
    build: ./proxy
    command: ["sleep", "3600"]
    init: true
    network_mode: none
    restart: always
volumes:
  data:
`;

async function cleanUp(): Promise<void> {
  for (const id of ['alpha', 'beta'] as const) {
    await run(id, 'docker ps -aq --filter "name=^$1" | xargs -r docker rm -f >/dev/null; docker network ls -q --filter "name=^$1" | xargs -r docker network rm >/dev/null 2>&1; true', prefix);
    await cleanUpPrefix(hosts[id], id, prefix);
    await run(id, 'docker rmi -f d-cloud_proxy d-cloud-proxy local/d-base:1 >/dev/null 2>&1; true');
  }
}

beforeAll(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'd-journal-'));
  for (const id of ['alpha', 'beta'] as const) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  await cleanUp();
}, 300_000);

afterAll(async () => {
  await cleanUp();
  for (const host of Object.values(hosts)) await host.transport.close();
  await rm(stateDir, { recursive: true, force: true });
}, 300_000);

const services = async (id: 'alpha' | 'beta') =>
  (await listContainers(hosts[id])).filter((c) => c.stack === PROJECT).map((c) => `${c.service} ${c.state}${c.state === 'exited' ? ` ${c.exitCode}` : ''}`).sort();

describe('a stack written as real apps publish theirs, compose v1 alpha → v2 beta and back', () => {
  it('moves without --force, and round-trips to one folder on each side', async () => {
    const dir = `/srv/alpha/compose/${FOLDER}`;
    // The build's base image is on alpha only: beta could not build it (no registry).
    const setUp = await run(
      'alpha',
      'docker tag local/busybox:test local/d-base:1 && mkdir -p "$1/proxy" "$2/config" && echo conf > "$2/config/app.ini" && printf "FROM local/d-base:1\\nCOPY hello /hello\\n" > "$1/proxy/Dockerfile" && echo hello > "$1/proxy/hello" && printf "%s" "$3" > "$1/.env"',
      dir,
      '/srv/alpha/appdata/d-cloud',
      ENV,
    );
    expect(setUp.exitCode, setUp.stderr).toBe(0);
    const up = await hosts.alpha.transport.exec(command(['sh', '-c', 'cat > "$1/docker-compose.yml" && cd "$1" && docker-compose build 2>&1 && docker-compose up -d 2>&1', 'sh', dir]), {
      input: COMPOSE,
      timeoutMs: 300_000,
    });
    expect(up.exitCode, up.stdout).toBe(0);
    expect(await services('alpha')).toEqual(['app running', 'init exited 0', 'proxy running']);
    // A named volume with what busybox tar drops: an xattr, a POSIX ACL, a sparse file.
    const filled = await run(
      'alpha',
      'v=$(docker volume inspect --format "{{.Mountpoint}}" d-cloud_data) && echo a > "$v/attrs" && setfattr -n user.origin -v alpha "$v/attrs" && setfacl -m u:1234:r "$v/attrs" && truncate -s 64M "$v/sparse.img" && echo tail >> "$v/sparse.img"',
    );
    expect(filled.exitCode, filled.stderr).toBe(0);

    const plan = await planStackMigration(hosts.alpha, hosts.beta, FOLDER);
    expect(plan.stack).toBe(PROJECT);
    expect(plan.notMoved).toEqual([]);
    expect(plan.hostProvided?.map((h) => h.source).sort()).toEqual(['/etc/localtime', '/var/run/docker.sock']);
    expect(plan.dataPaths).toMatchObject([
      { sourcePath: '/srv/alpha/appdata/d-cloud', targetPath: '/srv/beta/appdata/d-cloud', method: 'zfs', appFolderOf: ['/srv/alpha/appdata/d-cloud/.n8n', '/srv/alpha/appdata/d-cloud/config'] },
    ]);
    expect(plan.builtImages).toEqual([{ service: 'proxy', image: 'd-cloud_proxy', named: false }]);
    expect(plan.oneShot).toContain('init');
    expect(plan.targetStackDir).toBe(`/srv/beta/compose/${FOLDER}`);

    const there = await migrateStack(hosts.alpha, hosts.beta, FOLDER, { journalDir: journalDir(), startTimeoutMs: 60_000 });
    expect(there.preflight.hostProvided?.join('; ')).toMatch(/\/etc\/localtime \(the host's time zone, regular file\)/);
    expect(there.imagesCarried).toEqual(['d-cloud-proxy']);
    expect(await imageId(hosts.beta.transport, 'd-cloud-proxy')).toBe(await imageId(hosts.alpha.transport, 'd-cloud_proxy'));
    expect(await services('beta')).toEqual(['app running', 'init exited 0', 'proxy running']);
    expect((await run('beta', 'cat /srv/beta/appdata/d-cloud/config/app.ini; grep DATA_FOLDER /srv/beta/compose/d-cloud-ngx/.env; ls -d /srv/beta/compose/d-cloud 2>&1')).stdout).toMatch(
      /^conf\nDATA_FOLDER=\/srv\/beta\/appdata\/d-cloud\/\n.*No such file/,
    );
    expect((await run('beta', 'zfs list -H -o name beta/appdata/d-cloud')).stdout.trim()).toBe('beta/appdata/d-cloud');
    const kept = await run('beta', 'v=$(docker volume inspect --format "{{.Mountpoint}}" d-cloud_data) && getfattr --only-values -n user.origin "$v/attrs" && echo && getfacl -cp "$v/attrs" | grep "^user:1234" && du -k "$v/sparse.img" | cut -f1');
    const [origin, acl, allocatedKiB] = kept.stdout.trim().split('\n');
    expect([origin, acl]).toEqual(['alpha', 'user:1234:r--']);
    expect(Number(allocatedKiB)).toBeLessThan(1024);

    const back = await migrateStack(hosts.beta, hosts.alpha, PROJECT, { journalDir: journalDir(), startTimeoutMs: 60_000 });
    expect(back.target).toBe('alpha');
    expect(await services('alpha')).toEqual(['app running', 'init exited 0', 'proxy running']);
    expect((await run('alpha', 'ls /srv/alpha/compose | grep "^d-"')).stdout).toBe(`${FOLDER}\n`);
    expect((await listStacks(hosts.alpha)).filter((s) => s.name.startsWith(prefix)).map((s) => [s.name, s.folder])).toEqual([[PROJECT, `/srv/alpha/compose/${FOLDER}`]]);
    expect((await listStacks(hosts.beta)).filter((s) => s.name.startsWith(prefix)).map((s) => [s.name, s.folder])).toEqual([[PROJECT, `/srv/beta/compose/${FOLDER}`]]);
  }, 600_000);
});

describe("n8n's own .env on compose v2 beta → v1 alpha: DATA_FOLDER with its slash, a dataset named .n8n", () => {
  it('moves the .n8n dataset as it is and rewrites DATA_FOLDER, slash kept', async () => {
    const dir = '/srv/beta/compose/d-n8n';
    const compose = `services:\n  n8n:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    init: true\n    network_mode: none\n    restart: always\n    volumes:\n      - \${DATA_FOLDER}/.n8n:/home/node/.n8n\n`;
    const n8nEnv = (appdata: string) => `DATA_FOLDER=${appdata}/d-n8n/\n`;
    const setUp = await run(
      'beta',
      'set -e; zfs create -p beta/appdata/d-n8n/.n8n; echo "{}" > /srv/beta/appdata/d-n8n/.n8n/config; mkdir -p "$1"; printf "%s" "$2" > "$1/docker-compose.yml"; printf "%s" "$3" > "$1/.env"; cd "$1" && docker compose up -d 2>&1',
      dir,
      compose,
      n8nEnv('/srv/beta/appdata'),
    );
    expect(setUp.exitCode, setUp.stdout).toBe(0);
    const plan = await planStackMigration(hosts.beta, hosts.alpha, 'd-n8n');
    expect(plan.mounts?.map((m) => m.source)).toEqual(['/srv/beta/appdata/d-n8n/.n8n']);
    const report = await migrateStack(hosts.beta, hosts.alpha, 'd-n8n', { journalDir: journalDir(), startTimeoutMs: 60_000 });
    expect(report.final.results.map((r) => [r.method, r.sourceDataset, r.targetDataset])).toEqual([['zfs', 'beta/appdata/d-n8n/.n8n', 'alpha/appdata/d-n8n/.n8n']]);
    expect((await run('alpha', 'cat /srv/alpha/appdata/d-n8n/.n8n/config "$1/.env"', '/srv/alpha/compose/d-n8n')).stdout).toBe(`{}\n${n8nEnv('/srv/alpha/appdata')}`);
    expect((await listContainers(hosts.alpha)).filter((c) => c.stack === 'd-n8n').map((c) => c.state)).toEqual(['running']);
  }, 600_000);
});


describe('an app folder another stack uses too', () => {
  it("is refused at pre-flight, naming the other stack's container and the choices; nothing changes", async () => {
    const dir = '/srv/alpha/compose/d-sonarr';
    const compose = 'services:\n  sonarr:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    init: true\n    network_mode: none\n    volumes:\n      - /srv/alpha/appdata/d-media/sonarr:/config\n';
    const setUp = await run(
      'alpha',
      'set -e; mkdir -p /srv/alpha/appdata/d-media/sonarr /srv/alpha/appdata/d-media/radarr "$1"; printf "%s" "$2" > "$1/docker-compose.yml"; cd "$1" && docker-compose up -d 2>&1; docker create --name d-radarr --label com.docker.compose.project=d-radarr -v /srv/alpha/appdata/d-media/radarr:/config local/busybox:test true >/dev/null',
      dir,
      compose,
    );
    expect(setUp.exitCode, setUp.stdout).toBe(0);
    await expect(migrateStack(hosts.alpha, hosts.beta, 'd-sonarr', { journalDir: journalDir(), force: true })).rejects.toThrow(
      /d-sonarr mounts \/srv\/alpha\/appdata\/d-media\/sonarr, inside \/srv\/alpha\/appdata\/d-media, which moves whole.*but d-radarr \(not of d-sonarr\) mounts paths in it too.*--force does not apply.*--method rsync/,
    );
    expect((await run('beta', 'ls /srv/beta/compose /srv/beta/appdata')).stdout).not.toMatch(/d-sonarr|d-media/);
    expect((await listContainers(hosts.alpha)).filter((c) => c.stack === 'd-sonarr').map((c) => c.state)).toEqual(['running']);
  }, 300_000);
});
