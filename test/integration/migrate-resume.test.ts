/**
 * The tool is killed (SIGKILL, through the test-only DOCKER_MCP_TEST_CRASH_AT
 * hook) right after it journals each phase as started; `migrate --resume ID`
 * then finishes the migration or rolls it back. Nothing is lost: the source's
 * data is unchanged and the stack runs on exactly one host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackAction } from '../../src/docker/stacks.js';
import { listMigrations } from '../../src/migration/journal.js';
import type { ResumeOutcome } from '../../src/migration/resume.js';
import { TEST_CRASH_VARIABLE } from '../../src/migration/test-crash-hook.js';
import { MigrateKit } from './migrate-kit.js';

const prefix = `rz-${process.pid}-`;
let kit: MigrateKit;

beforeAll(async () => {
  kit = await MigrateKit.open(prefix);
});

afterAll(async () => {
  await kit.close();
});

async function journalled(stack: string): Promise<{ id: string; status: string; lastPhase: string | null }> {
  const mine = (await listMigrations(kit.journalDir)).filter((m) => m.stack === stack);
  expect(mine).toHaveLength(1);
  const { id, status, phases } = mine[0]!;
  return { id, status, lastPhase: phases.filter((p) => p.phase !== 'resume').at(-1)?.phase ?? null };
}

describe('migrate --resume after the tool was killed', () => {
  // images: the stack's image exists only on alpha, so it is carried.
  const phases = ['preflight', 'seed', 'stack-folder', 'images', 'stop', 'final-sync', 'verify', 'folder-sync', 'start'] as const;

  for (const phase of phases) {
    it(`killed at ${phase}: --resume finishes the migration, nothing lost, running on beta only`, async () => {
      const stack = `${prefix}${phase}`;
      const image = `local/${prefix}${phase}:1`;
      await kit.sh('alpha', 'docker tag local/busybox:test "$1"', image);
      await kit.deployTwoServiceStack(stack, image);
      const sourceChanges = await kit.sourceData(stack);

      const killed = await kit.cli(['migrate', 'alpha', 'beta', stack, '--json'], { [TEST_CRASH_VARIABLE]: phase });
      expect(killed.exitCode, killed.stderr).toBe(-1); // killed by its signal, no exit code
      const interrupted = await journalled(stack);
      expect(interrupted).toMatchObject({ status: 'running', lastPhase: phase });

      if (phase === 'preflight') {
        // The stale lock: a new migration of the stack is refused and told how to go on.
        const again = await kit.cli(['migrate', 'alpha', 'beta', stack]);
        expect(again.exitCode).toBe(2);
        expect(again.stderr).toContain(`docker-mcp migrate --resume ${interrupted.id}`);
      }

      const resumed = await kit.cli(['migrate', '--resume', interrupted.id, '--json']);
      expect(resumed.stderr).toBe('');
      expect(resumed.exitCode).toBe(0);
      const outcome = JSON.parse(resumed.stdout) as ResumeOutcome;
      expect(outcome.interruptedAt).toBe(phase);
      const from = ['preflight', 'seed'].includes(phase) ? 'preflight' : ['stack-folder', 'images'].includes(phase) ? 'stack-folder' : phase === 'start' ? 'start' : 'stop';
      expect(outcome.report.resumedFrom).toBe(from);
      // Killed at the folder's copy, the seed running beside it had not ended: the resume seeds again.
      // (b is a plain directory in use: it can become a dataset only after the stop.)
      if (phase === 'stack-folder') expect(outcome.report.seed?.results.filter((r) => r.ok).map((r) => r.targetPath)).toEqual([`/srv/beta/appdata/${stack}-a`]);
      expect(outcome.report.final.results.map((r) => r.ok)).toEqual([true, true]);

      expect(await kit.running(stack)).toEqual({ alpha: 0, beta: 2, gamma: 0 });
      expect(await sourceChanges()).toEqual([]);
      expect(await kit.datasets('beta', stack)).toEqual([`beta/appdata/${stack}-a`, `beta/appdata/${stack}-b`]);
      expect((await kit.sh('beta', 'cat "$1/sub/ibdata" | wc -c', `/srv/beta/appdata/${stack}-b`)).stdout.trim()).toBe('200000');
      expect(await journalled(stack)).toMatchObject({ status: 'succeeded' });
      await stackAction(kit.hosts.beta, stack, 'down');
    });
  }

  it('killed while rolling back a failed start: --resume finishes the rollback, source running, target clean', async () => {
    const stack = `${prefix}rollback`;
    const image = `local/${prefix}broken-on-beta:1`;
    // Same tag on both hosts; beta's is an empty image with no shell, so nothing can start there.
    await kit.sh('alpha', 'docker tag local/busybox:test "$1"', image);
    await kit.sh('beta', 'tar -cf - -T /dev/null | docker import - "$1" >/dev/null', image);
    await kit.deployTwoServiceStack(stack, image);
    const sourceChanges = await kit.sourceData(stack);

    const killed = await kit.cli(['migrate', 'alpha', 'beta', stack, '--start-timeout', '3'], { [TEST_CRASH_VARIABLE]: 'rollback' });
    expect(killed.exitCode).toBe(-1);
    const interrupted = await journalled(stack);
    expect(interrupted).toMatchObject({ status: 'running', lastPhase: 'rollback' });
    // Killed half way: the source is down and the target holds the received data.
    expect(await kit.running(stack)).toEqual({ alpha: 0, beta: 0, gamma: 0 });
    expect(await kit.datasets('beta', stack)).toHaveLength(2);

    const resumed = await kit.cli(['migrate', '--resume', interrupted.id]);
    expect(resumed.exitCode).toBe(1);
    expect(resumed.stderr).toMatch(/interrupted while rolling back; the rollback is finished; rolled back: .*removed dataset beta:beta\/appdata\/.*started again on alpha/);
    expect(await kit.running(stack)).toEqual({ alpha: 2, beta: 0, gamma: 0 });
    expect(await sourceChanges()).toEqual([]);
    expect(await kit.datasets('beta', stack)).toEqual([]);
    expect(await kit.exists('beta', `/srv/beta/compose/${stack}`)).toBe(false);
    expect(await journalled(stack)).toMatchObject({ status: 'failed' });
  });

  it('refuses to resume a migration that is not interrupted', async () => {
    const done = await journalled(`${prefix}start`);
    const run = await kit.cli(['migrate', '--resume', done.id]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/is not interrupted: it succeeded/);
  });
});
