import { describe, expect, it } from 'vitest';
import { parseInterval, type StandbyDeclaration } from '../../src/standby/declarations.js';
import type { StandbyPassRecord } from '../../src/standby/pass-state.js';
import { standbyMetrics } from '../../src/standby/metrics.js';
import { duePasses, nextDue } from '../../src/standby/scheduler.js';
import { standbyCheck, standbyStatus } from '../../src/standby/status.js';

const declaration: StandbyDeclaration = { host: 'alpha', stack: 'notes', to: 'beta', every: '15m', intervalMs: parseInterval('15m'), keep: 4 };
const now = new Date('2026-12-06T12:00:00Z');
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();

function record(fields: Partial<StandbyPassRecord>): StandbyPassRecord {
  return {
    host: 'alpha', stack: 'notes', to: 'beta', startedAt: minutesAgo(1), finishedAt: minutesAgo(1), ok: true, error: null,
    snapshot: 'docker-mcp-standby-x', snapshotAt: minutesAgo(1), atomic: true, bytes: 10, seconds: 1, datasets: [], pruned: [], warnings: [],
    confirmed: { snapshot: 'docker-mcp-standby-x', at: minutesAgo(1) },
    ...fields,
  };
}

describe('standby status and check', () => {
  it('says ok within the interval, late past it, behind past twice it, and reports the lag since the confirmed snapshot', () => {
    const at = (minutes: number) => standbyStatus(declaration, record({ confirmed: { snapshot: 's', at: minutesAgo(minutes) } }), now);
    expect([at(10).state, at(20).state, at(31).state]).toEqual(['ok', 'late', 'behind']);
    expect(at(20).lagSeconds).toBe(1200);
  });

  it('a failed pass is failed whatever the lag, and keeps the time of the last confirmed snapshot', () => {
    const status = standbyStatus(declaration, record({ ok: false, error: 'boom', confirmed: { snapshot: 's', at: minutesAgo(5) } }), now);
    expect(status).toMatchObject({ state: 'failed', error: 'boom', confirmedAt: minutesAgo(5), lagSeconds: 300 });
    expect(standbyStatus(declaration, record({ ok: false, error: 'boom', confirmed: null }), now)).toMatchObject({ state: 'failed', lagSeconds: null });
    expect(standbyStatus(declaration, null, now)).toMatchObject({ state: 'never', confirmedAt: null });
  });

  it('check: 0 OK, 1 WARNING when only late, 2 CRITICAL when behind, failed or never copied; with perfdata per stack', () => {
    const ok = standbyStatus(declaration, record({}), now);
    const late = standbyStatus({ ...declaration, stack: 'late' }, record({ confirmed: { snapshot: 's', at: minutesAgo(20) } }), now);
    const never = standbyStatus({ ...declaration, stack: 'new' }, null, now);
    expect(standbyCheck([ok])).toEqual({ exitCode: 0, line: "STANDBY OK - 1 stack within their interval | 'alpha/notes_lag'=60s" });
    expect(standbyCheck([ok, late])).toMatchObject({ exitCode: 1, line: expect.stringMatching(/^STANDBY WARNING - alpha\/late late \(1200 s\) \|/) });
    expect(standbyCheck([ok, late, never])).toMatchObject({ exitCode: 2, line: expect.stringMatching(/^STANDBY CRITICAL - alpha\/new never, alpha\/late late/) });
    expect(standbyCheck([]).exitCode).toBe(0);
  });
});

describe('standby schedule', () => {
  const at = (iso: string) => Date.parse(iso);

  it('a stack never passed is due at once; one passed is due its interval after that pass started', () => {
    expect(nextDue(declaration, null, undefined)).toBe(Number.NEGATIVE_INFINITY);
    expect(nextDue(declaration, record({ startedAt: minutesAgo(10) }), undefined)).toBe(at(minutesAgo(10)) + 15 * 60_000);
  });

  it('after a stop longer than the interval (a reboot), an overdue stack is due now, once: the most overdue first', () => {
    const overdue = { declaration, at: nextDue(declaration, record({ startedAt: minutesAgo(600) }), undefined) };
    const lessOverdue = { declaration: { ...declaration, stack: 'b' }, at: nextDue(declaration, record({ startedAt: minutesAgo(20) }), undefined) };
    const notYet = { declaration: { ...declaration, stack: 'c' }, at: nextDue(declaration, record({ startedAt: minutesAgo(5) }), undefined) };
    expect(duePasses([notYet, lessOverdue, overdue], now.getTime()).map((d) => d.stack)).toEqual(['notes', 'b']);
  });

  it('a failed pass, or one that could not run and wrote nothing, is tried again within 5 minutes (or its interval if shorter)', () => {
    expect(nextDue(declaration, record({ startedAt: minutesAgo(1), ok: false }), undefined)).toBe(at(minutesAgo(1)) + 5 * 60_000);
    const skipped = { at: at(minutesAgo(1)), failed: true };
    expect(nextDue(declaration, record({ startedAt: minutesAgo(60) }), skipped)).toBe(skipped.at + 5 * 60_000);
    const everyMinute = { ...declaration, intervalMs: parseInterval('1m') };
    expect(nextDue(everyMinute, null, skipped)).toBe(skipped.at + 60_000);
    // This process's good try is as good as its record.
    expect(nextDue(declaration, null, { at: at(minutesAgo(1)), failed: false })).toBe(at(minutesAgo(1)) + 15 * 60_000);
  });
});

describe('standby metrics', () => {
  it('one series per stack and state, values from the status; nothing for what is not known yet', async () => {
    const copied = standbyStatus(declaration, record({ bytes: 2048, seconds: 3, finishedAt: minutesAgo(2), confirmed: { snapshot: 's', at: minutesAgo(20) } }), now);
    const fresh = standbyStatus({ ...declaration, stack: 'new' }, null, now);
    let declared = [copied, fresh];
    const page = standbyMetrics(async () => declared);
    const text = await page.render();
    const notes = 'host="alpha",stack="notes",standby="beta"';
    expect(text).toContain('docker_mcp_standby_declared 2');
    expect(text).toContain(`docker_mcp_standby_state{${notes},state="late"} 1`);
    expect(text).toContain(`docker_mcp_standby_state{${notes},state="ok"} 0`);
    expect(text).toContain(`docker_mcp_standby_lag_seconds{${notes}} 1200`);
    expect(text).toContain(`docker_mcp_standby_interval_seconds{${notes}} 900`);
    expect(text).toContain(`docker_mcp_standby_last_pass_bytes{${notes}} 2048`);
    expect(text).toContain(`docker_mcp_standby_last_pass_timestamp_seconds{${notes}} ${Date.parse(minutesAgo(2)) / 1000}`);
    expect(text).toContain('docker_mcp_standby_state{host="alpha",stack="new",standby="beta",state="never"} 1');
    expect(text).not.toMatch(/docker_mcp_standby_lag_seconds\{[^}]*stack="new"/);
    // A scrape shows what is declared now: a stack removed since is gone.
    declared = [fresh];
    const later = await page.render();
    expect(later).toContain('docker_mcp_standby_declared 1');
    expect(later).not.toContain('stack="notes"');
  });
});
