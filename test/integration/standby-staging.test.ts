/**
 * What a standby pass stages besides the datasets, on the container testbed
 * (alpha, compose v1 → beta, compose v2): a named volume as a tar file
 * under beta's appdata, read while the stack writes to it, and replaced
 * whole by the next pass; the image compose built on alpha, carried and
 * named as beta's compose names a build; and a pass that cannot stage a
 * build alpha lacks fails, while its data counts as confirmed.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import type { StandbyPassRecord } from '../../src/standby/pass-state.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { runCli } from './cli.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

type Id = 'alpha' | 'beta';
const hosts = {} as Record<Id, DockerHost>;
const prefix = `sbs${process.pid}`;
const stack = `${prefix}-wiki`;
const folder = `/srv/alpha/compose/${stack}`;
const volume = `${stack}_uploads`;
const volumesDir = `/srv/beta/appdata/.docker-mcp-standby/alpha/${stack}.volumes`;
const stagedFolder = `/srv/beta/compose/.docker-mcp-standby/alpha/${stack}`;
/** compose v1 on alpha names the build `<project>_<service>`; v2 on beta looks for `<project>-<service>`. */
const builtOnAlpha = `${stack}_web`;
const builtOnBeta = `${stack}-web`;
const sh = (id: Id, script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 300_000 });

let dir: string;
const cli = (...args: string[]) => runCli(['--config', path.join(dir, 'hosts.yml'), ...args], { DOCKER_MCP_STATE_DIR: path.join(dir, 'state') }, undefined, 300_000);

const COMPOSE = `services:
  web:
    build: ./web
    command: ["sh", "-c", "while true; do date >> /uploads/live.log; sleep 0.2; done"]
    network_mode: none
    init: true
    volumes:
      - /srv/alpha/appdata/${stack}-web:/data
      - uploads:/uploads
volumes:
  uploads:
`;

/** A file of the volume's tar copy on beta, read back from it. */
const fromTar = async (member: string) => (await sh('beta', 'tar -xOf "$1" "$2"', `${volumesDir}/${volume}.tar`, member)).stdout;

beforeAll(async () => {
  for (const id of ['alpha', 'beta'] as const) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-standby-staging-'));
  copyFileSync(testbedHostsFile(), path.join(dir, 'hosts.yml'));
  // A dataset from the start: a pass converts a plain directory only while nothing uses it.
  await new ZfsHost(hosts.alpha.transport).createDataset(`alpha/appdata/${stack}-web`);
  const up = await sh(
    'alpha',
    [
      'set -e',
      'mkdir -p "$1/web" "$2"',
      'printf "%s" "$3" > "$1/docker-compose.yml"',
      'printf "FROM local/busybox:test\\nRUN echo built-on-alpha > /built\\n" > "$1/web/Dockerfile"',
      'echo "site: wiki" > "$2/settings.yml"',
      'cd "$1" && docker-compose build 2>&1 && docker-compose up -d 2>&1',
      // What the service keeps in its volume: a file of its own, besides the log it writes.
      `docker exec ${stack}_web_1 sh -c 'echo first > /uploads/page.txt && chown 1000:1000 /uploads/page.txt'`,
    ].join('\n'),
    folder,
    `/srv/alpha/appdata/${stack}-web`,
    COMPOSE,
  );
  expect(up.exitCode, up.stdout + up.stderr).toBe(0);
}, 300_000);

afterAll(async () => {
  for (const id of ['alpha', 'beta'] as const) await cleanUpPrefix(hosts[id], id, prefix);
  await sh('beta', 'rm -rf -- "$1" "$2"; docker rmi -f "$3" "$4" >/dev/null 2>&1; true', volumesDir, stagedFolder, builtOnBeta, builtOnAlpha);
  await sh('alpha', 'docker rmi -f "$1" >/dev/null 2>&1; true', builtOnAlpha);
  for (const host of Object.values(hosts)) await host.transport.close();
  rmSync(dir, { recursive: true, force: true });
}, 300_000);

describe('standby alpha → beta: named volumes and built images staged', () => {
  it('stages the named volume as a tar file read while the stack writes, and the built image under the name beta\'s compose looks for', async () => {
    expect((await cli('standby', 'add', stack, '--on', 'alpha', '--to', 'beta')).exitCode).toBe(0);
    const run = await cli('standby', 'sync', stack, '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const [record] = JSON.parse(run.stdout) as StandbyPassRecord[];
    expect(record).toMatchObject({ ok: true, stagedFolder, imagesCarried: [builtOnBeta] });
    expect(record?.volumesStaged).toEqual([{ volume, labels: expect.objectContaining({ "com.docker.compose.project": stack }), file: `${volumesDir}/${volume}.tar`, bytes: expect.any(Number) }]);
    expect(record?.warnings.join(' ')).toContain(`named volumes ${volume} copied by tar while ${stack} ran`);
    expect(await fromTar('./page.txt')).toBe('first\n');
    expect((await sh('beta', 'tar -tvf "$1" ./page.txt', `${volumesDir}/${volume}.tar`)).stdout).toMatch(/^-rw-r--r-- 1000\/1000 /);
    expect((await fromTar('./live.log')).length).toBeGreaterThan(0);
    // Only docker-mcp reads what it keeps there.
    expect((await sh('beta', 'stat -c %a "$1"', volumesDir)).stdout.trim()).toBe('700');
    // The build itself came: beta's compose finds it by its own name and never builds.
    expect((await sh('beta', 'docker run --rm --network none "$1" cat /built', builtOnBeta)).stdout).toBe('built-on-alpha\n');
  });

  it('the next pass sends the volume afresh (ZFS cannot tell what changed in it): the tar file is replaced whole', async () => {
    expect((await sh('alpha', `docker exec ${stack}_web_1 sh -c 'echo second > /uploads/page.txt'`)).exitCode).toBe(0);
    const run = await cli('standby', 'sync', stack, '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const [record] = JSON.parse(run.stdout) as StandbyPassRecord[];
    expect(record).toMatchObject({ ok: true, imagesCarried: [] });
    expect(record?.unchanged).toBeUndefined();
    expect(await fromTar('./page.txt')).toBe('second\n');
    expect((await sh('beta', 'ls -A "$1"', volumesDir)).stdout).toBe(`${volume}.tar\n`);
  });

  it('a build alpha no longer has fails the pass, naming it; the data that arrived still counts as confirmed', async () => {
    const [before] = JSON.parse((await cli('standby', 'status', '--json')).stdout) as { confirmedAt: string | null }[];
    await sh('alpha', 'echo more >> "$1/settings.yml"; docker-compose -f "$2/docker-compose.yml" rm -sf web >/dev/null 2>&1; docker rmi -f "$3" >/dev/null', `/srv/alpha/appdata/${stack}-web`, folder, builtOnAlpha);
    const run = await cli('standby', 'sync', stack, '--json');
    expect(run.exitCode).not.toBe(0);
    const [record] = JSON.parse(run.stdout) as StandbyPassRecord[];
    expect(record?.ok).toBe(false);
    expect(record?.error).toContain(`image ${builtOnAlpha}, which compose builds for web: alpha has none`);
    expect(Date.parse(record?.confirmed?.at as string)).toBeGreaterThan(Date.parse(before?.confirmedAt as string));
  });
});
