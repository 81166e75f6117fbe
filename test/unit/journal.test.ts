import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listMigrations, MigrationJournal, MigrationLockedError, readMigration } from '../../src/migration/journal.js';
import type { MigrationPlan } from '../../src/migration/plan.js';

const plan = (id: string, stack = 'authelia') => ({ id, stack, source: 'alpha', target: 'beta' }) as unknown as MigrationPlan;

describe('MigrationJournal', () => {
  it('records the plan and each phase on disk as it goes, and the outcome', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'journal-'));
    const journal = await MigrationJournal.begin(plan('m1'), dir);
    await journal.phase('preflight', 'started');
    const midway = JSON.parse(readFileSync(path.join(dir, 'm1.json'), 'utf8')) as { status: string; phases: { phase: string }[] };
    expect(midway.status).toBe('running');
    expect(midway.phases.map((p) => p.phase)).toEqual(['preflight']);
    await journal.phase('stop', 'started');
    await journal.finish('succeeded', 'downtime 2.0 s');
    expect(await readMigration('m1', dir)).toMatchObject({ status: 'succeeded', detail: 'downtime 2.0 s', stack: 'authelia' });
    expect((await listMigrations(dir)).map((e) => e.id)).toEqual(['m1']);
  });

  it('refuses a second migration of the same stack while the first runs, and allows it after', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'journal-'));
    const first = await MigrationJournal.begin(plan('m1'), dir);
    const refused = await MigrationJournal.begin(plan('m2'), dir).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MigrationLockedError);
    expect((refused as Error).message).toMatch(/migration m1 of stack authelia is running/);
    await MigrationJournal.begin(plan('m3', 'other-stack'), dir); // another stack is not held back
    await first.finish('failed', 'boom');
    await expect(MigrationJournal.begin(plan('m4'), dir)).resolves.toBeInstanceOf(MigrationJournal);
  });

  it('says when the lock was left by a process that is gone, and where to look', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'journal-'));
    writeFileSync(path.join(dir, 'authelia.lock'), JSON.stringify({ id: 'm0', pid: 2 ** 22 + 12345 }));
    const refused = await MigrationJournal.begin(plan('m1'), dir).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/m0 of stack authelia was interrupted .* migrations show m0/);
  });

  it('saves made at once (steps of a phase side by side) all land, the last with every result', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'journal-'));
    const journal = await MigrationJournal.begin(plan('m1'), dir);
    const keys = Array.from({ length: 20 }, (_, i) => `step${i}`);
    await Promise.all(keys.map((key) => journal.record({ [key]: true } as never)));
    const saved = JSON.parse(readFileSync(path.join(dir, 'm1.json'), 'utf8')) as Record<string, unknown>;
    for (const key of keys) expect(saved[key]).toBe(true);
  });

  it('an unknown id is bad input', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'journal-'));
    await expect(readMigration('nope', dir)).rejects.toThrow(/no such migration/);
  });
});
