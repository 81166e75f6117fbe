import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MigrationJournal, MigrationLockedError, NotResumableError } from '../../src/migration/journal.js';
import type { MigrationPlan } from '../../src/migration/plan.js';
import { decideResume } from '../../src/migration/resume.js';
import type { TransferSummary } from '../../src/transfer/transfer-services.js';

const at = '2026-01-01T00:00:00.000Z';
const started = (...names: string[]) => names.map((phase) => ({ phase, state: 'started' as const, at, detail: null }));
const final = { services_transferred: 1, total_services: 1, bytes: 1, seconds: 1, results: [] } satisfies TransferSummary;
const plan = (id: string) => ({ id, stack: 'authelia', source: 'alpha', target: 'beta' }) as unknown as MigrationPlan;

describe('decideResume', () => {
  it('starts again from pre-flight when nothing was stopped', () => {
    for (const phases of [[], started('preflight'), started('preflight', 'seed')]) {
      expect(decideResume({ phases })).toMatchObject({ kind: 'continue', from: 'preflight' });
    }
  });

  it('copies the stack folder again when it was copying it or carrying images, before the stop', () => {
    expect(decideResume({ phases: started('preflight', 'seed', 'stack-folder') })).toMatchObject({ kind: 'continue', from: 'stack-folder' });
    expect(decideResume({ phases: started('preflight', 'seed', 'stack-folder', 'images') })).toMatchObject({ kind: 'continue', from: 'stack-folder' });
  });

  it('goes on from the stop (sync again, verify, the folder brought up to date) once the source was stopped, up to the start', () => {
    const order = ['preflight', 'seed', 'stack-folder', 'images', 'stop', 'final-sync', 'verify', 'folder-sync'];
    for (let reached = order.indexOf('stop'); reached < order.length; reached++) {
      expect(decideResume({ phases: started(...order.slice(0, reached + 1)), final })).toMatchObject({ kind: 'continue', from: 'stop' });
    }
    // A journal of the earlier order (folder and images after the stop): from the stop, the folder sync copies what is missing.
    expect(decideResume({ phases: started('preflight', 'seed', 'stop', 'final-sync', 'verify', 'stack-folder'), final })).toMatchObject({ kind: 'continue', from: 'stop' });
  });

  it('checks the target and finishes when it was starting there or removing the source', () => {
    expect(decideResume({ phases: started('preflight', 'stack-folder', 'stop', 'final-sync', 'verify', 'folder-sync', 'start'), final })).toMatchObject({ kind: 'continue', from: 'start' });
    expect(decideResume({ phases: started('preflight', 'stack-folder', 'stop', 'final-sync', 'verify', 'folder-sync', 'start', 'remove-source'), final })).toMatchObject({ kind: 'continue', from: 'start' });
    // Without the final transfer on record it cannot report on the data: back to the stop.
    expect(decideResume({ phases: started('preflight', 'stack-folder', 'stop', 'final-sync', 'verify', 'folder-sync', 'start') })).toMatchObject({ kind: 'continue', from: 'stop' });
  });

  it('finishes a rollback that was interrupted, and ignores earlier resumes', () => {
    expect(decideResume({ phases: started('preflight', 'stop', 'final-sync', 'rollback'), final })).toMatchObject({ kind: 'roll-back' });
    expect(decideResume({ phases: started('preflight', 'seed', 'resume'), final })).toMatchObject({ kind: 'continue', from: 'preflight' });
  });
});

describe('MigrationJournal.resume', () => {
  it('takes over the lock of a migration whose process is gone, and only that one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'journal-'));
    const first = await MigrationJournal.begin(plan('m1'), dir);
    await first.phase('stop', 'started');
    // The process that holds it "died": its pid is one that cannot run.
    writeFileSync(path.join(dir, 'authelia.lock'), JSON.stringify({ id: 'm1', pid: 2 ** 22 + 12345 }));
    const refused = await MigrationJournal.begin(plan('m2'), dir).catch((e: unknown) => e);
    expect((refused as Error).message).toContain('docker-mcp migrate --resume m1');
    const resumed = await MigrationJournal.resume('m1', dir);
    expect(resumed.entry.pid).toBe(process.pid);
    // Now this process holds it: another resume from elsewhere would be refused while it runs, and m2 still is.
    await expect(MigrationJournal.begin(plan('m2'), dir)).rejects.toBeInstanceOf(MigrationLockedError);
    await resumed.finish('succeeded');
    await expect(MigrationJournal.resume('m1', dir)).rejects.toBeInstanceOf(NotResumableError);
  });

  it('refuses while the migration still runs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'journal-'));
    await MigrationJournal.begin(plan('m1'), dir);
    writeFileSync(path.join(dir, 'authelia.lock'), JSON.stringify({ id: 'm1', pid: process.ppid }));
    await expect(MigrationJournal.resume('m1', dir)).rejects.toThrow(/is still running \(pid/);
  });
});
