/**
 * The engine's compose labels are hints anybody who can start a container
 * writes: containers started by hand on alpha with forged
 * `com.docker.compose.project.*` labels must make docker-mcp read no file
 * outside a stack folder, plan nothing, and remove no folder that holds
 * compose_path, appdata_path or another stack's compose file.
 *
 * alpha is given a compose_path and appdata_path of this file's own under
 * /tmp (a hosts.yml of its own), so that a regression removes only this
 * file's folders, never the testbed's stacks. Every name starts with `c-lbl`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostConfig } from '../../src/config/schema.js';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { listStacks } from '../../src/docker/stacks.js';
import { McpContext } from '../../src/mcp/context.js';
import { createMcpServer } from '../../src/mcp/server.js';
import type { JournalEntry } from '../../src/migration/journal.js';
import { planMigration } from '../../src/migration/plan.js';
import { removeSourceCopy } from '../../src/migration/remove-source.js';
import { rollBack } from '../../src/migration/rollback.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { runCli } from './cli.js';
import { testbedHost } from './testbed.js';
import { stackSourceOf } from '../fixtures/stack-source.js';

const P = `c-lbl${process.pid}`;
const ROOT = `/tmp/${P}`;
const COMPOSE = `${ROOT}/compose`;
const APPDATA = `${ROOT}/appdata`;
const SECRET = `${ROOT}/secret.txt`;
const REAL_FILE = `${COMPOSE}/c-real/docker-compose.yml`;
const STACK_FILE = 'services:\n  app:\n    image: local/busybox:test\n    command: ["sleep", "3600"]\n    network_mode: none\n';

let workDir: string;
let hostsFile: string;
let alpha: DockerHost;
let beta: DockerHost;

const sh = (target: DockerHost, script: string, ...args: string[]) => target.transport.exec(command(['sh', '-c', script, 'sh', ...args]));
const exists = async (file: string) => (await alpha.transport.exec(command(['test', '-e', file]), { okExitCodes: [0, 1] })).exitCode === 0;
const cli = (args: readonly string[]) => runCli(args, { DOCKER_MCP_CONFIG: hostsFile, DOCKER_MCP_STATE_DIR: workDir });

/** A container started by hand, as any docker user can, with the compose labels it likes. */
async function forge(name: string, project: string, workingDir: string, configFiles: string): Promise<void> {
  const labels = { 'com.docker.compose.project': project, 'com.docker.compose.project.working_dir': workingDir, 'com.docker.compose.project.config_files': configFiles, 'com.docker.compose.service': 'app' };
  const run = await alpha.transport.exec(
    command(['docker', 'run', '-d', '--name', name, '--network', 'none', ...Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]), 'local/busybox:test', 'sleep', '3600']),
  );
  expect(run.exitCode).toBe(0);
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'c-lbl-'));
  const real: HostConfig = await testbedHost('alpha');
  const own: HostConfig = { ...real, compose_path: COMPOSE, appdata_path: APPDATA, zfs_capable: false, zfs_dataset: null };
  alpha = { host: own, transport: new SshTransport(own) };
  const betaHost = await testbedHost('beta');
  beta = { host: betaHost, transport: new SshTransport(betaHost) };
  const document = parseDocument(await readFile(testbedHostsFile(), 'utf8'));
  for (const guest of ['delta', 'epsilon']) document.deleteIn(['hosts', guest]);
  document.setIn(['hosts', 'alpha', 'compose_path'], COMPOSE);
  document.setIn(['hosts', 'alpha', 'appdata_path'], APPDATA);
  document.setIn(['hosts', 'alpha', 'zfs_capable'], false);
  document.setIn(['hosts', 'alpha', 'zfs_dataset'], null);
  hostsFile = path.join(workDir, 'hosts.yml');
  await writeFile(hostsFile, document.toString());
  await sh(alpha, 'set -e; mkdir -p "$1/c-real" "$2"; printf %s "$3" > "$1/c-real/docker-compose.yml"; echo canary-secret > "$4"', COMPOSE, APPDATA, STACK_FILE, SECRET);
  // view and the resource would print this file; a plan would take the root of every stack for its folder.
  await forge(`${P}-shadow`, `${P}-x`, ROOT, SECRET);
  await forge(`${P}-root`, `${P}-y`, COMPOSE, REAL_FILE);
  // A working_dir no folder can have (a name over NAME_MAX): listed, ignored, and the others still listed.
  await forge(`${P}-long`, `${P}-w`, `/tmp/${'n'.repeat(300)}`, 'docker-compose.yml');
}, 120_000);

afterAll(async () => {
  await sh(alpha, 'docker rm -f "$1-shadow" "$1-root" "$1-long" >/dev/null 2>&1; rm -rf "$2"', P, ROOT);
  await sh(beta, 'rm -rf "$1"', `/srv/beta/compose/${P}-y`);
  await alpha.transport.close();
  await beta.transport.close();
  await rm(workDir, { recursive: true, force: true });
}, 120_000);

describe('forged compose labels', () => {
  it('are listed with why they were not believed, with no folder or file', async () => {
    const stacks = await listStacks(alpha);
    for (const name of [`${P}-x`, `${P}-y`, `${P}-w`]) {
      const stack = stacks.find((s) => s.name === name);
      expect(stack).toMatchObject({ foundIn: 'engine', composeFile: null, folder: null, labelsIgnored: expect.stringMatching(/not a stack folder/) });
    }
    expect(stacks.find((s) => s.name === 'c-real')).toMatchObject({ foundIn: 'folder', composeFile: REAL_FILE });
  });

  it('make `stacks view` refuse, naming the label, and print nothing of the file they name', async () => {
    const run = await cli(['stacks', 'view', 'alpha', `${P}-x`]);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(new RegExp(`left alone: its working_dir label "${ROOT}"`));
    expect(run.stdout + run.stderr).not.toContain('canary-secret');
  });

  it('make the stacks:// resource of a --read-only server refuse, and print nothing of the file', async () => {
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await createMcpServer(new McpContext(hostsFile, { readOnly: true }), 'test').connect(serverSide);
    const client = new Client({ name: 'c-lbl', version: '1' });
    await client.connect(clientSide);
    try {
      const read = client.readResource({ uri: `stacks://alpha/${P}-x` }).then((r) => JSON.stringify(r));
      await expect(read).rejects.toThrow(/left alone/);
      await read.catch((error: unknown) => expect(String(error)).not.toContain('canary-secret'));
    } finally {
      await client.close();
    }
  });

  it('make a migration plan refuse a working_dir of compose_path itself: nothing planned, nothing on the target', async () => {
    const run = await cli(['migrate', 'alpha', 'beta', `${P}-y`, '--dry-run']);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(new RegExp(`left alone: its working_dir label "${COMPOSE}"`));
    expect(run.stdout).not.toContain('stop the stack');
    expect((await sh(beta, 'test -e "$1"; echo $?', `/srv/beta/compose/${P}-y`)).stdout.trim()).toBe('1');
  });
});

describe('honest compose labels', () => {
  it('are believed: a project started by hand with compose v1 (relative config_files) and v2, an override file and another project name', async () => {
    const betaRoot = `/tmp/${P}-beta/compose`;
    const own = (target: DockerHost, root: string): DockerHost => ({ host: { ...target.host, compose_path: root }, transport: target.transport });
    for (const [target, root, up, made] of [
      [alpha, COMPOSE, 'docker-compose -p "$2" up -d', `${COMPOSE}/c-honest`],
      [beta, betaRoot, 'docker compose -p "$2" up -d', `/tmp/${P}-beta`],
    ] as const) {
      const dir = `${root}/c-honest`;
      const override = 'services:\n  app:\n    environment:\n      FROM_OVERRIDE: "yes"\n';
      const started = await sh(target, `set -e; mkdir -p "$1"; printf %s "$3" > "$1/docker-compose.yml"; printf %s "$4" > "$1/docker-compose.override.yml"; cd "$1"; ${up} 2>&1`, dir, `${P}-honest`, STACK_FILE, override);
      expect(started.exitCode, started.stdout).toBe(0);
      try {
        const stacks = await listStacks(own(target, root));
        expect(stacks.find((s) => s.name === `${P}-honest`)).toMatchObject({ foundIn: 'both', folder: dir, running: 1 });
        expect(stacks.find((s) => s.name === `${P}-honest`)).not.toHaveProperty('labelsIgnored');
      } finally {
        await sh(target, `cd "$1" && ${up.replace('up -d', 'down')} >/dev/null 2>&1; cd / && rm -rf "$3"`, dir, `${P}-honest`, made);
      }
    }
  });
});

describe('a folder removal', () => {
  /** A plan as a journal could hold it: its folder is whatever the text says. */
  const planFor = (stack: string, folder: string) =>
    planMigration({ id: `${P}-${stack}`, stack, source: alpha.host, target: beta.host, stackSource: stackSourceOf(folder, stack, { app: {} }) });
  const verifiedAt = (plan: ReturnType<typeof planFor>) => ({ stackFolderVerified: { path: plan.targetStackDir, entries: 1, bytes: 1 } });

  it('never takes compose_path, a parent of it, or a folder that holds another stack\'s compose file, on --remove-source', async () => {
    for (const [folder, why] of [
      [COMPOSE, `it is or holds compose_path ${COMPOSE}`],
      [ROOT, `it is or holds compose_path ${COMPOSE}`],
      [`${COMPOSE}/c-real`, `it holds ${REAL_FILE}, a compose file of stack c-real`],
    ] as const) {
      const plan = planFor(`${P}-z`, folder);
      expect(plan.sourceStackDir).toBe(folder);
      const removal = await removeSourceCopy(plan, alpha, verifiedAt(plan));
      expect(removal.removed).toEqual([]);
      expect(removal.kept).toEqual([`alpha:${folder}: never removed: ${why}`]);
      expect(await exists(REAL_FILE)).toBe(true);
    }
  });

  it('still takes the stack\'s own folder', async () => {
    await sh(alpha, 'mkdir -p "$1" && printf %s "$2" > "$1/docker-compose.yml"', `${COMPOSE}/${P}-own`, STACK_FILE);
    const plan = planFor(`${P}-own`, `${COMPOSE}/${P}-own`);
    expect(await removeSourceCopy(plan, alpha, verifiedAt(plan))).toEqual({ removed: [`alpha:${COMPOSE}/${P}-own`], kept: [] });
    expect(await exists(`${COMPOSE}/${P}-own`)).toBe(false);
    expect(await exists(REAL_FILE)).toBe(true);
  });

  it('never takes compose_path on a rollback whose journal names it as the target folder', async () => {
    const plan = { ...planFor(`${P}-r`, `${COMPOSE}/c-real`), source: 'beta', target: 'alpha', targetStackDir: COMPOSE };
    const entry = { id: plan.id, stack: plan.stack, source: 'beta', target: 'alpha', pid: 0, createdAt: new Date().toISOString(), status: 'failed', detail: null, plan, phases: [{ phase: 'stack-folder', state: 'started', at: new Date().toISOString(), detail: null }] } as unknown as JournalEntry;
    const done = await rollBack(entry, beta, alpha, false);
    expect(done).toEqual([expect.stringMatching(new RegExp(`FAILED to remove alpha:${COMPOSE} .*refusing to remove alpha:${COMPOSE}: it is or holds compose_path`))]);
    expect(await exists(REAL_FILE)).toBe(true);
  });
});
