import { describe, expect, it } from 'vitest';
import { parseInterval, type StandbyDeclaration } from '../../src/standby/declarations.js';
import type { StandbyPassRecord } from '../../src/standby/pass-state.js';
import { standbyCheck, standbyStatus } from '../../src/standby/status.js';

const declaration: StandbyDeclaration = { host: 'alpha', stack: 'notes', to: 'beta', every: '15m', intervalMs: parseInterval('15m'), keep: 4 };
const now = new Date('2026-12-06T12:00:00Z');
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();

function record(fields: Partial<StandbyPassRecord>): StandbyPassRecord {
  return {
    host: 'alpha', stack: 'notes', to: 'beta', startedAt: minutesAgo(1), finishedAt: minutesAgo(1), ok: true, error: null,
    snapshot: 'docker-mcp-standby-x', snapshotAt: minutesAgo(1), atomic: true, bytes: 10, seconds: 1, datasets: [], pruned: [], warnings: [], notCopied: [],
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
