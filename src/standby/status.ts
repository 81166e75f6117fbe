/**
 * How safe each declared stack is now: from the last pass's record, the time
 * of the newest snapshot confirmed on the standby (what a failover would
 * start from), the lag against the declared interval, and the last error.
 */
import type { FailedOver, StandbyDeclaration } from './declarations.js';
import type { StandbyPassRecord } from './pass-state.js';

/** ok; late: the interval has passed; behind: twice the interval (or never copied); failed: the last pass failed. */
export type StandbyState = 'ok' | 'late' | 'behind' | 'failed' | 'never' | 'failed-over' | 'fenced';

export interface StandbyStatus {
  readonly host: string;
  readonly stack: string;
  readonly to: string;
  readonly every: string;
  readonly state: StandbyState;
  /** When the newest snapshot confirmed on the standby was taken: writes after it are what a lost host would lose. */
  readonly confirmedAt: string | null;
  readonly confirmedSnapshot: string | null;
  /** Seconds since then; null when nothing was confirmed yet. */
  readonly lagSeconds: number | null;
  readonly lastPassAt: string | null;
  readonly lastPassOk: boolean | null;
  readonly lastPassBytes: number | null;
  readonly lastPassSeconds: number | null;
  readonly error: string | null;
  /** After a failover: when, from which snapshot, and, once the old host was fenced, whether it had diverged. */
  readonly failedOver?: FailedOver;
}

export function standbyStatus(declaration: StandbyDeclaration, record: StandbyPassRecord | null, now = new Date()): StandbyStatus {
  const confirmedAt = record?.confirmed?.at ?? null;
  const lagSeconds = confirmedAt === null ? null : Math.max(0, (now.getTime() - Date.parse(confirmedAt)) / 1000);
  // The standby runs the stack since: nothing keeps a copy of it until a failback.
  const state = declaration.failedOver ? (declaration.failedOver.fencedAt ? 'fenced' : 'failed-over') : stateOf(record, lagSeconds, declaration.intervalMs / 1000);
  return {
    host: declaration.host,
    stack: declaration.stack,
    to: declaration.to,
    every: declaration.every,
    state,
    confirmedAt,
    confirmedSnapshot: record?.confirmed?.snapshot ?? null,
    lagSeconds,
    lastPassAt: record?.finishedAt ?? null,
    lastPassOk: record?.ok ?? null,
    lastPassBytes: record?.bytes ?? null,
    lastPassSeconds: record?.seconds ?? null,
    error: record?.error ?? null,
    ...(declaration.failedOver ? { failedOver: declaration.failedOver } : {}),
  };
}

function stateOf(record: StandbyPassRecord | null, lagSeconds: number | null, intervalSeconds: number): StandbyState {
  if (record?.ok === false) return 'failed';
  if (record === null || lagSeconds === null) return 'never';
  if (lagSeconds > 2 * intervalSeconds) return 'behind';
  return lagSeconds > intervalSeconds ? 'late' : 'ok';
}

/** Exit codes as monitoring plugins give them (Nagios, Icinga, Zabbix's external checks): 0 OK, 1 WARNING, 2 CRITICAL. */
export const CHECK_EXIT = { ok: 0, warning: 1, critical: 2 } as const;

export interface CheckOutcome {
  readonly exitCode: number;
  /** One line: `STANDBY OK - …` / `STANDBY CRITICAL - …`, then `|` and perfdata (lag per stack). */
  readonly line: string;
}

/** Critical when a stack is behind (twice its interval), failed its last pass, was never copied, or was failed over (no copy is kept now); warning when only late. */
export function standbyCheck(statuses: readonly StandbyStatus[]): CheckOutcome {
  const critical = statuses.filter((s) => ['behind', 'failed', 'never', 'failed-over', 'fenced'].includes(s.state));
  const warning = statuses.filter((s) => s.state === 'late');
  const exitCode = critical.length > 0 ? CHECK_EXIT.critical : warning.length > 0 ? CHECK_EXIT.warning : CHECK_EXIT.ok;
  const word = exitCode === CHECK_EXIT.critical ? 'CRITICAL' : exitCode === CHECK_EXIT.warning ? 'WARNING' : 'OK';
  const named = [...critical, ...warning].map((s) => `${s.host}/${s.stack} ${s.state}${s.lagSeconds === null ? '' : ` (${Math.round(s.lagSeconds)} s)`}`);
  const summary = statuses.length === 0 ? 'no standby declared' : named.length > 0 ? named.join(', ') : `${statuses.length} stack${statuses.length > 1 ? 's' : ''} within their interval`;
  const perfdata = statuses.map((s) => `'${s.host}/${s.stack}_lag'=${s.lagSeconds === null ? 'U' : `${Math.round(s.lagSeconds)}s`}`).join(' ');
  return { exitCode, line: `STANDBY ${word} - ${summary}${perfdata ? ` | ${perfdata}` : ''}` };
}
