/**
 * The outage holds only the stop, the last sends, the checks and the start:
 * the stack folder and images go over while the stack runs, and what changes
 * in the folder between that copy and the stop still arrives (stack files
 * rewritten for the target again). --bwlimit keeps every transfer to its
 * rate; a bad rate is refused before anything is touched.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackAction } from '../../src/docker/stacks.js';
import type { MigrationReport } from '../../src/migration/execute.js';
import { listMigrations } from '../../src/migration/journal.js';
import { TEST_PAUSE_FILE_VARIABLE, TEST_PAUSE_VARIABLE } from '../../src/migration/test-crash-hook.js';
import { MigrateKit } from './migrate-kit.js';

const prefix = `h15b-dt${process.pid}-`;
let kit: MigrateKit;

beforeAll(async () => {
  kit = await MigrateKit.open(prefix);
});

afterAll(async () => {
  await kit.close();
});

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`not so within ${ms} ms`);
    await sleep(100);
  }
}

describe('migrate: the stack folder and images before the stop', () => {
  it('copies folder and images while the stack runs; what changes in the folder before the stop still arrives, stack files rewritten again', async () => {
    const stack = `${prefix}folder`;
    const image = `local/${prefix}only-on-alpha:1`;
    const folder = `/srv/alpha/compose/${stack}`;
    const copy = `/srv/beta/compose/${stack}`;
    await kit.sh('alpha', 'docker tag local/busybox:test "$1"', image);
    await kit.deployTwoServiceStack(stack, image);
    await kit.sh('alpha', 'echo before > "$1/notes.txt" && echo old > "$1/old.txt" && mkdir "$1/conf"', folder);
    const pauseFile = path.join(kit.stateDir, 'paused-at-stop');

    const migrating = kit.cli(['migrate', 'alpha', 'beta', stack, '--json'], { [TEST_PAUSE_VARIABLE]: 'stop', [TEST_PAUSE_FILE_VARIABLE]: pauseFile });
    await waitFor(() => existsSync(pauseFile), 90_000);
    // Journalled as stopping, not yet stopped: the copy and the image are on beta already, the stack still runs on alpha.
    expect(await kit.running(stack)).toEqual({ alpha: 2, beta: 0, gamma: 0 });
    expect((await kit.sh('beta', 'cat "$1/notes.txt"; docker image inspect -f ok "$2"', copy, image)).stdout).toBe('before\nok\n');
    await kit.sh(
      'alpha',
      'echo after > "$1/notes.txt" && rm "$1/old.txt" && echo new > "$1/conf/new.conf" && printf "# edited during the migration\\n" >> "$1/docker-compose.yml"',
      folder,
    );
    rmSync(pauseFile);
    const run = await migrating;
    expect(run.exitCode, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as MigrationReport;

    expect(report.phases.map((p) => p.phase)).toEqual(['preflight', 'seed', 'stack-folder', 'images', 'stop', 'final-sync', 'verify', 'folder-sync', 'start']);
    expect(report.phases.filter((p) => !p.inDowntime).map((p) => p.phase)).toEqual(['preflight', 'seed', 'stack-folder', 'images']);
    expect(report.imagesCarried).toEqual([image]);
    expect(await kit.running(stack)).toEqual({ alpha: 0, beta: 2, gamma: 0 });
    const files = await kit.sh('beta', 'cd "$1" && cat notes.txt conf/new.conf && ls', copy);
    expect(files.stdout).toBe('after\nnew\nconf\ndocker-compose.yml\nnotes.txt\n');
    const compose = (await kit.sh('beta', 'cat "$1/docker-compose.yml"', copy)).stdout;
    expect(compose).toMatch(/# edited during the migration\n$/);
    expect(compose).toContain(`/srv/beta/appdata/${stack}-a:/data`);
    expect(compose).not.toContain('/srv/alpha/');
    await stackAction(kit.hosts.beta, stack, 'down');
    // Other people's zfs commands on the testbed take turns with ours (one lock per host): allow for waiting on them.
  }, 240_000);
});

describe('migrate --bwlimit', () => {
  const eightMiB = 8 * 2 ** 20;
  const seedOf = async (stack: string) => {
    const [entry] = (await listMigrations(kit.journalDir)).filter((m) => m.stack === stack);
    return { status: entry?.status, results: entry?.seed?.results ?? [] };
  };

  for (const { to, route } of [
    { to: 'beta', route: 'auto' },
    { to: 'beta', route: 'relay' },
    { to: 'gamma', route: 'auto' },
  ] as const) {
    it(`keeps to the limit: 8 MiB at 2M takes 3 s or more (${to}, route ${route}); progress and report show it`, async () => {
      const stack = `${prefix}bw-${to}-${route}`;
      await kit.deployTwoServiceStack(stack);
      await kit.sh('alpha', 'head -c "$2" /dev/urandom > "$1/big"', `/srv/alpha/appdata/${stack}-a`, String(eightMiB));

      const run = await kit.cli(['migrate', 'alpha', to, stack, '--bwlimit', '2M', '--route', route]);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stderr).toContain('at most 2 MiB/s');
      expect(run.stdout).toContain('transfers limited to 2 MiB/s');
      const seed = await seedOf(stack);
      expect(seed.status).toBe('succeeded');
      const big = seed.results.find((r) => r.sourcePath.endsWith(`${stack}-a`));
      expect(big?.method).toBe(to === 'gamma' ? 'rsync' : 'zfs');
      expect(big?.bytes).toBeGreaterThanOrEqual(eightMiB);
      // A lower bound only: the limit makes it slow; how much slower the machine is does not matter.
      expect(big?.seconds).toBeGreaterThanOrEqual(3);
      await stackAction(kit.hosts[to], stack, 'down');
    });
  }

  it('refuses a bad rate with the reason, and changes nothing', async () => {
    const stack = `${prefix}bw-bad`;
    await kit.deployTwoServiceStack(stack);
    for (const rate of ['5X', 'fast', '0', '-2M']) {
      const run = await kit.cli(['migrate', 'alpha', 'beta', stack, `--bwlimit=${rate}`]);
      expect(run.exitCode, rate).toBe(2);
      expect(run.stderr).toContain(`bwlimit ${JSON.stringify(rate)}`);
      expect(run.stderr).toMatch(/500K, 50M or 1G/);
    }
    expect(await kit.running(stack)).toEqual({ alpha: 2, beta: 0, gamma: 0 });
    expect(await kit.exists('beta', `/srv/beta/compose/${stack}`)).toBe(false);
    expect(await kit.datasets('beta', stack)).toEqual([]);
    expect((await listMigrations(kit.journalDir)).filter((m) => m.stack === stack)).toEqual([]);
  });
});
