/**
 * The migration's own key is no shell on the target (alpha, beta, gamma):
 * a copy taken from the source's private directory mid-migration logs in
 * from no other address, runs nothing but the migration's own commands
 * from the source's (`id` refused and logged, through the live master
 * connection too), and stops working when the migration ends; the
 * migration's receive and rsync go through. Renewed, the line keeps its
 * limits and only its expiry moves. Ctrl-C of `docker-mcp migrate`
 * mid-seed rolls back and takes the key away before the command exits.
 */
import { execa } from 'execa';
import { existsSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationReport } from '../../src/migration/execute.js';
import { listMigrations, type JournalEntry } from '../../src/migration/journal.js';
import { TEST_PAUSE_FILE_VARIABLE, TEST_PAUSE_VARIABLE } from '../../src/migration/test-crash-hook.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { GATE_LOG_FILE } from '../../src/transfer/route-gate.js';
import { issueRouteKey, renewRouteKey, revokeRouteKey, ROUTE_KEY_LIFETIME_MS, withExpiry } from '../../src/transfer/route-key.js';
import { checkDirectRoute, readTargetIdentity } from '../../src/transfer/source-to-target-ssh.js';
import { transferServices } from '../../src/transfer/transfer-services.js';
import { cliCommand } from './cli.js';
import { MigrateKit } from './migrate-kit.js';

const prefix = `a-gate${process.pid}-`;
let kit: MigrateKit;
let work: string;

beforeAll(async () => {
  kit = await MigrateKit.open(prefix);
  work = await mkdtemp(path.join(os.tmpdir(), prefix));
});

afterAll(async () => {
  await kit.close();
  await rm(work, { recursive: true, force: true });
});

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`not so within ${ms} ms`);
    await sleep(100);
  }
}

async function journalOf(stack: string): Promise<JournalEntry> {
  const [entry] = (await listMigrations(kit.journalDir)).filter((m) => m.stack === stack);
  if (!entry) throw new Error(`no journal for ${stack}`);
  return entry;
}

/** The private key as an attacker on the source copies it. */
async function steal(sourceDirectory: string): Promise<string> {
  const file = path.join(work, `stolen-${path.basename(sourceDirectory)}`);
  const text = (await kit.sh('alpha', 'cat "$1/id_ed25519"', sourceDirectory)).stdout;
  await writeFile(file, text, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

/** ssh as the key's holder, from `bind` (an address of this machine) when given. */
function sshWith(key: string, address: string, remote: string, extra: string[] = []) {
  return execa(
    'ssh',
    ['-T', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', ...extra, '-l', kit.hosts.beta.host.user, address, remote],
    { reject: false, stdin: 'ignore' },
  );
}

/** The testbed's login (uid 0 under another name) has its own home, shared by the three hosts. */
const home = async () => (await kit.sh('beta', 'printf %s "$HOME"')).stdout;
const authorizedKeys = async () => (await kit.sh('beta', 'cat "$HOME/.ssh/authorized_keys" 2>/dev/null || true')).stdout;
const refusalLog = async () => (await kit.sh('beta', 'cat "$HOME/$1" 2>/dev/null || true', GATE_LOG_FILE)).stdout;

describe('a stolen copy of the migration key (alpha → beta)', () => {
  it('logs in from no other address, runs no shell from the source\'s, and dies with the migration; the receive goes through', async () => {
    const stack = `${prefix}stolen`;
    await kit.deployTwoServiceStack(stack);
    const pauseFile = path.join(kit.stateDir, 'paused-at-stop');
    const migrating = kit.cli(['migrate', 'alpha', 'beta', stack, '--json'], { [TEST_PAUSE_VARIABLE]: 'stop', [TEST_PAUSE_FILE_VARIABLE]: pauseFile });
    let stolen = '';
    try {
      await waitFor(() => existsSync(pauseFile), 120_000);
      const record = (await journalOf(stack)).routeKey;
      if (!record?.sourceDirectory) throw new Error(`no key in the journal: ${JSON.stringify(record)}`);
      stolen = await steal(record.sourceDirectory);

      // From another address: sshd does not accept the key at all.
      const elsewhere = await sshWith(stolen, '127.0.0.12', 'id', ['-b', '127.0.0.99']);
      expect(elsewhere.exitCode).toBe(255);
      expect(elsewhere.stdout).not.toMatch(/uid=/);
      expect(elsewhere.stderr).toMatch(/Permission denied/);

      // From the source's own address: the gate refuses, and says so in beta's log.
      for (const attempt of ['id', 'sh -c id', 'echo key >> ~/.ssh/authorized_keys']) {
        const fromSource = await sshWith(stolen, '127.0.0.12', attempt);
        expect(fromSource.stdout, attempt).not.toMatch(/uid=/);
        expect(fromSource.exitCode, attempt).toBe(126);
        expect(fromSource.stderr).toMatch(/docker-mcp-route: this key runs only the commands of migration/);
      }
      expect(await refusalLog()).toContain(`refused for ${record.marker} from 127.0.0.1: id\n`);
      // The master connection the seed logged in with runs nothing else either.
      const throughMaster = await kit.sh('alpha', 'ssh -o ControlPath="$1/cm" -o ControlMaster=no -T -- 127.0.0.12 id', record.sourceDirectory).catch((error: Error) => error);
      expect(String(throughMaster instanceof Error ? throughMaster.message : throughMaster.stdout)).not.toMatch(/uid=0/);
      expect(await authorizedKeys()).not.toContain('echo key');
      // Seen from beta, alpha's connections come from 127.0.0.1 (the testbed's hosts share one network namespace).
      expect(record.authorizedLine).toMatch(/^restrict,command="\/bin\/sh \/[^ "]+\/\.docker-mcp-gate\.[^ "]+\/gate docker-mcp-route:[^ "]+",from="127\.0\.0\.1",expiry-time="\d{12}Z" ssh-ed25519 /);
      expect((await authorizedKeys()).split('\n')).toContain(record.authorizedLine);
      const expiry = /expiry-time="(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)Z"/.exec(record.authorizedLine)!.slice(1).map(Number);
      const expiresAt = Date.UTC(expiry[0]!, expiry[1]! - 1, expiry[2]!, expiry[3]!, expiry[4]!);
      expect(expiresAt - Date.now()).toBeLessThanOrEqual(ROUTE_KEY_LIFETIME_MS);
    } finally {
      rmSync(pauseFile, { force: true });
    }
    const run = await migrating;
    expect(run.exitCode, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as MigrationReport;
    // The receives went through the gate (the plain directory, in use, is converted and sent after the stop).
    expect(report.seed?.results.map((r) => r.route)).toEqual(['direct', null]);
    expect(report.final.results.map((r) => r.route)).toEqual(['direct', 'direct']);
    expect(await kit.running(stack)).toEqual({ alpha: 0, beta: 2, gamma: 0 });

    // Revoked: the line, the gate, the source's directory, and so the copy, are gone.
    const entry = await journalOf(stack);
    expect(entry.routeKey).toBeNull();
    const marker = `docker-mcp-route:${entry.id}`;
    expect(await authorizedKeys()).not.toContain(marker);
    expect(await kit.exists('beta', `${await home()}/.docker-mcp-gate.${entry.id}`)).toBe(false);
    const afterwards = await sshWith(stolen, '127.0.0.12', 'id');
    expect(afterwards.exitCode).toBe(255);
    expect(afterwards.stderr).toMatch(/Permission denied/);
  }, 300_000);
});

describe('the key carrying rsync (alpha → gamma, no ZFS there)', () => {
  it('runs the rsync server into this path only: the copy arrives, an rsync server into ~/.ssh is refused', async () => {
    const id = `${prefix}rsync`;
    const sourcePath = `/srv/alpha/appdata/${id}`;
    const targetPath = `/srv/gamma/appdata/${id} data`;
    await kit.sh('alpha', 'mkdir -p "$1" && head -c 50000 /dev/urandom > "$1/blob"', sourcePath);
    const issue = await issueRouteKey(id, kit.hosts.alpha, kit.hosts.gamma, async () => {});
    if (!issue.issued) throw new Error(issue.reason);
    try {
      expect(issue.key.from).toEqual({ address: '127.0.0.1' });
      const summary = await transferServices({
        source: kit.hosts.alpha,
        target: kit.hosts.gamma,
        services: [{ service: 'app', sourcePath, targetPath }],
        method: 'rsync',
        targetFromSource: issue.key.targetFromSource,
      });
      expect(summary.results.map((r) => [r.ok, r.route, r.error?.message])).toEqual([[true, 'direct', undefined]]);
      expect((await kit.sh('gamma', 'wc -c < "$1/blob"', targetPath)).stdout.trim()).toBe('50000');

      const stolen = path.join(work, 'stolen-rsync');
      await writeFile(stolen, (await kit.sh('alpha', 'cat "$1/id_ed25519"', issue.key.record.sourceDirectory!)).stdout, { mode: 0o600 });
      // The very server the migration ran, pointed at another directory.
      const elsewhere = await sshWith(stolen, '127.0.0.13', 'rsync --server -lHogDtpAXrSe.LsfxCIvu --delete --partial --numeric-ids . .ssh/');
      expect(elsewhere.exitCode).toBe(126);
      // And with -s, which would take the path inside the protocol.
      expect((await sshWith(stolen, '127.0.0.13', 'rsync --server -slHogDtpAXrSe.LsfxCIvu .')).exitCode).toBe(126);
    } finally {
      await revokeRouteKey(issue.key.record, kit.hosts.alpha, kit.hosts.gamma);
      await kit.sh('alpha', 'rm -rf "$1"', sourcePath);
      await kit.sh('gamma', 'rm -rf "$1"', targetPath);
    }
  }, 180_000);
});

describe('the key renewed (gamma → beta)', () => {
  it('moves its expiry on, keeps its gate and its address, and still carries the proof', async () => {
    const issued = await issueRouteKey(`${prefix}renew`, kit.hosts.gamma, kit.hosts.beta, async () => {});
    if (!issued.issued) throw new Error(issued.reason);
    let record = issued.key.record;
    try {
      const journalled: string[] = [];
      const later = new Date(Date.now() + 30 * 60_000);
      record = await renewRouteKey(record, kit.hosts.beta, async (saved) => void journalled.push(saved.authorizedLine), later);
      expect(journalled).toEqual([record.authorizedLine]);
      expect(record.authorizedLine).toBe(withExpiry(issued.key.record.authorizedLine, new Date(later.getTime() + ROUTE_KEY_LIFETIME_MS)));
      expect(record.authorizedLine).toContain(',from="127.0.0.1",');
      const lines = (await authorizedKeys()).split('\n');
      expect(lines).toContain(record.authorizedLine);
      expect(lines).not.toContain(issued.key.record.authorizedLine);
      // A fresh login (no master to reuse) with the renewed line.
      await kit.sh('gamma', 'ssh -o ControlPath="$1" -O exit x 2>/dev/null; true', `${record.sourceDirectory}/cm`);
      const expected = await readTargetIdentity(kit.hosts.beta.transport, kit.hosts.beta.host);
      expect(await checkDirectRoute(kit.hosts.gamma.transport, issued.key.targetFromSource, expected)).toEqual({ reaches: true });
    } finally {
      await revokeRouteKey(record, kit.hosts.gamma, kit.hosts.beta);
    }
    expect(await authorizedKeys()).not.toContain(record.marker);
  }, 120_000);
});


describe('Ctrl-C of docker-mcp migrate mid-seed', () => {
  it('cancels as the MCP cancel does: the seed ends, the stack runs on alpha again, nothing is left on beta, the key is taken away, then it exits', async () => {
    const stack = `${prefix}sigint`;
    await kit.deployTwoServiceStack(stack);
    const pauseFile = path.join(kit.stateDir, 'paused-at-seed');
    // 300 kB at 5 KiB/s: the seed would take a minute; the signal comes 3 s into it.
    const child = execa(...cliCommand(['migrate', 'alpha', 'beta', stack, '--bwlimit', '5K']), {
      reject: false,
      env: { DOCKER_MCP_CONFIG: testbedHostsFile(), DOCKER_MCP_STATE_DIR: kit.stateDir, [TEST_PAUSE_VARIABLE]: 'seed', [TEST_PAUSE_FILE_VARIABLE]: pauseFile },
    });
    await waitFor(() => existsSync(pauseFile), 120_000);
    rmSync(pauseFile);
    let sourceDirectory: string | null | undefined;
    await waitFor(async () => (sourceDirectory = (await journalOf(stack)).routeKey?.sourceDirectory) != null, 60_000);
    await sleep(3000);
    const started = Date.now();
    child.kill('SIGINT');
    const run = await child;
    // Far below the seed's minute, with room for the rollback on a machine the emulated guests keep busy.
    expect(Date.now() - started, 'it does not wait for the seed to finish').toBeLessThan(40_000);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(/SIGINT: cancelling migration .*rolling back, taking its key away/);
    expect(run.stderr).toMatch(/was cancelled during its seed phase; rolled back/);

    const entry = await journalOf(stack);
    expect(entry.status).toBe('failed');
    expect(entry.routeKey).toBeNull();
    expect(await authorizedKeys()).not.toContain(`docker-mcp-route:${entry.id}`);
    expect(await kit.exists('beta', `${await home()}/.docker-mcp-gate.${entry.id}`)).toBe(false);
    expect(await kit.exists('alpha', sourceDirectory!)).toBe(false);
    expect(await kit.running(stack)).toEqual({ alpha: 2, beta: 0, gamma: 0 });
    expect(await kit.datasets('beta', stack)).toEqual([]);
    // The seed's pipeline on alpha ended with the tool's connection (sshd alone would have let it run on).
    expect((await kit.sh('alpha', 'pgrep -af "zfs [s]end.*$1" || true', stack)).stdout.trim()).toBe('');
  }, 300_000);
});
