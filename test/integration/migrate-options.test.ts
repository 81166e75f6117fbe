/**
 * The migration's safety options against the real testbed: a target too small
 * is refused at pre-flight, a failed migration removes what it created on the
 * target unless --keep-failed, --remove-source needs --yes and then removes
 * the source's copy, and --force goes only past what is safe to override.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { deployStack, stackAction } from '../../src/docker/stacks.js';
import type { MigrationReport } from '../../src/migration/execute.js';
import { listMigrations } from '../../src/migration/journal.js';
import { command } from '../../src/ssh/quote.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { MigrateKit } from './migrate-kit.js';

const prefix = `rz-${process.pid}-`;
let kit: MigrateKit;

beforeAll(async () => {
  kit = await MigrateKit.open(prefix);
});

afterAll(async () => {
  await kit.close();
});

const journalOf = async (stack: string) => (await listMigrations(kit.journalDir)).filter((m) => m.stack === stack);

describe('pre-flight', () => {
  it('refuses a target whose appdata has less room than the data, and says --force does not apply', async () => {
    // beta as seen through a hosts file whose appdata is a dataset with a 1 MiB quota.
    const small = `beta/appdata/${prefix}small`;
    await kit.hosts.beta.transport.exec(command(['zfs', 'create', '-o', 'quota=1M', small]));
    const config = YAML.parse(readFileSync(testbedHostsFile(), 'utf8')) as { hosts: Record<string, Record<string, unknown>> };
    config.hosts.beta = { ...config.hosts.beta, appdata_path: `/srv/${small}`, zfs_dataset: small };
    const file = path.join(kit.stateDir, 'small-beta.yml');
    writeFileSync(file, YAML.stringify(config));

    const stack = `${prefix}big`;
    await kit.deployTwoServiceStack(stack);
    await kit.sh('alpha', 'head -c 3000000 /dev/urandom > "$1/big"', `/srv/alpha/appdata/${stack}-a`);
    const run = await kit.cli(['--config', file, 'migrate', 'alpha', 'beta', stack]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/refused \(nothing was changed\): beta has \d+ bytes free under \/srv\/beta\/appdata\/rz-\d+-small, the stack's data is \d+ bytes\. --force does not apply/);
    expect(await kit.running(stack)).toEqual({ alpha: 2, beta: 0, gamma: 0 });
    expect((await kit.sh('beta', 'ls -A "$1"', `/srv/${small}`)).stdout).toBe('');
    expect((await journalOf(stack)).map((m) => m.status)).toEqual(['refused']);
  });

  it('moves a stack with a volume it cannot copy (external) only with --force, which leaves that volume where it is', async () => {
    const stack = `${prefix}vol`;
    const volume = `${stack}-cache`;
    // An external volume is the user's to create, on each host (say, backed by a share both reach).
    for (const host of ['alpha', 'beta'] as const) await kit.sh(host, 'docker volume create "$1" >/dev/null', volume);
    try {
      await kit.deployTwoServiceStack(stack);
      const compose = (await kit.sh('alpha', 'cat "$1"', `/srv/alpha/compose/${stack}/docker-compose.yml`)).stdout;
      await deployStack(kit.hosts.alpha, stack, `${compose.replace('      - /srv/alpha/appdata', '      - cache:/cache\n      - /srv/alpha/appdata')}volumes:\n  cache:\n    external: true\n    name: ${volume}\n`);

      const refused = await kit.cli(['migrate', 'alpha', 'beta', stack]);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/would not move with it: app: .*an external volume.*With --force the stack moves without them: their data stays on alpha/s);

      const forced = await kit.cli(['migrate', 'alpha', 'beta', stack, '--force', '--json']);
      expect(forced.stderr).toBe('');
      const report = JSON.parse(forced.stdout) as MigrationReport;
      expect(report.preflight.forcedNotMoved).toEqual([expect.stringMatching(/^app: .*external volume/)]);
      expect(await kit.running(stack)).toEqual({ alpha: 0, beta: 2, gamma: 0 });
      expect((await kit.sh('alpha', 'docker volume ls -q')).stdout.split('\n')).toContain(volume);

      // A stack that is on the target is refused, --force or not.
      const again = await kit.cli(['migrate', 'alpha', 'beta', stack, '--force']);
      expect(again.exitCode).toBe(2);
      expect(again.stderr).toMatch(/beta already has a stack .*--force does not apply/);
      await stackAction(kit.hosts.beta, stack, 'down');
    } finally {
      for (const host of ['alpha', 'beta'] as const) await kit.sh(host, 'docker volume rm -f "$1" >/dev/null 2>&1; true', volume);
    }
  });
});

describe('a migration that fails at the start on the target', () => {
  const image = `local/${prefix}broken-on-beta:1`;

  beforeAll(async () => {
    // Same tag on both hosts; beta's is an empty image with no shell, so nothing can start there.
    await kit.sh('alpha', 'docker tag local/busybox:test "$1"', image);
    await kit.sh('beta', 'tar -cf - -T /dev/null | docker import - "$1" >/dev/null', image);
  });

  it('removes the datasets it created on the target by default', async () => {
    const stack = `${prefix}fail`;
    await kit.deployTwoServiceStack(stack, image);
    const sourceChanges = await kit.sourceData(stack);
    const run = await kit.cli(['migrate', 'alpha', 'beta', stack, '--start-timeout', '2']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/failed at start: not every service came up on beta.*rolled back: .*removed dataset beta:beta\/appdata\/.*started again on alpha/);
    expect(await kit.datasets('beta', stack)).toEqual([]);
    expect(await kit.exists('beta', `/srv/beta/compose/${stack}`)).toBe(false);
    expect(await kit.running(stack)).toEqual({ alpha: 2, beta: 0, gamma: 0 });
    expect(await sourceChanges()).toEqual([]);
  });

  it('keeps them with --keep-failed, and a retry then sends only what changed', async () => {
    const stack = `${prefix}keep`;
    await kit.deployTwoServiceStack(stack, image);
    const sourceChanges = await kit.sourceData(stack);
    const run = await kit.cli(['migrate', 'alpha', 'beta', stack, '--keep-failed', '--start-timeout', '2']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/kept the data received on beta \(--keep-failed\)/);
    expect(await kit.datasets('beta', stack)).toEqual([`beta/appdata/${stack}-a`, `beta/appdata/${stack}-b`]);
    expect(await kit.exists('beta', `/srv/beta/compose/${stack}`)).toBe(false);
    expect(await kit.running(stack)).toEqual({ alpha: 2, beta: 0, gamma: 0 });
    expect(await sourceChanges()).toEqual([]);

    // Fixed on beta, the retry is incremental; the kept datasets were not this retry's to remove had it failed.
    await kit.sh('beta', 'docker rmi -f "$1" >/dev/null', image);
    const retry = await kit.cli(['migrate', 'alpha', 'beta', stack, '--json']);
    expect(retry.stderr).toBe('');
    const report = JSON.parse(retry.stdout) as MigrationReport;
    expect(report.seed?.results.map((r) => r.mode)).toEqual(['incremental', 'incremental']);
    expect(report.preflight.targetBefore.map((b) => b.state)).toEqual(['present', 'present']);
    expect(await kit.running(stack)).toEqual({ alpha: 0, beta: 2, gamma: 0 });
    await stackAction(kit.hosts.beta, stack, 'down');
  });
});

describe('--remove-source', () => {
  it('without --yes is refused before anything happens', async () => {
    const stack = `${prefix}rm-no`;
    await kit.deployTwoServiceStack(stack);
    const run = await kit.cli(['migrate', 'alpha', 'beta', stack, '--remove-source']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/--remove-source deletes .* on alpha .*add --yes to confirm \(nothing was changed\)/);
    expect(await kit.running(stack)).toEqual({ alpha: 2, beta: 0, gamma: 0 });
    expect(await journalOf(stack)).toEqual([]);
    expect(await kit.datasets('beta', stack)).toEqual([]);
  });

  it('with --yes removes the stack folder and the moved data on the source once the stack runs on the target', async () => {
    const stack = `${prefix}rm-yes`;
    await kit.deployTwoServiceStack(stack);
    const run = await kit.cli(['migrate', 'alpha', 'beta', stack, '--remove-source', '--yes', '--json']);
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as MigrationReport;
    expect(report.removedFromSource).toEqual([
      `alpha:/srv/alpha/compose/${stack}`,
      `alpha:alpha/appdata/${stack}-a`,
      `alpha:alpha/appdata/${stack}-b`, // the plain directory became a dataset on the way
    ]);
    expect(report.keptOnSource).toEqual([]);
    expect(await kit.running(stack)).toEqual({ alpha: 0, beta: 2, gamma: 0 });
    expect(await kit.datasets('alpha', stack)).toEqual([]);
    for (const gone of [`/srv/alpha/compose/${stack}`, `/srv/alpha/appdata/${stack}-a`, `/srv/alpha/appdata/${stack}-b`]) {
      expect(await kit.exists('alpha', gone)).toBe(false);
    }
    expect((await kit.sh('beta', 'wc -c < "$1"', `/srv/beta/appdata/${stack}-b/sub/ibdata`)).stdout.trim()).toBe('200000');
    const [journal] = await journalOf(stack);
    expect(journal?.phases.at(-1)?.phase).toBe('remove-source');
    expect(journal?.status).toBe('succeeded');
    await stackAction(kit.hosts.beta, stack, 'down');
  });
});
