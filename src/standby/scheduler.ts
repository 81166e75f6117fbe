/**
 * Passes on their schedule, unattended: `docker-mcp standby run` (or the MCP
 * server with `serve --standby`). When a stack is due comes from its last
 * pass record in the state directory, not from the time this process started:
 * after a reboot of the controller, or a stop longer than an interval, a stack
 * whose pass is overdue gets one pass at once (one, not one per missed
 * interval), and the schedule goes on from there. standby.yml is read again
 * before each round, so a declaration added, changed or removed applies
 * without a restart.
 */
import type { LoadedConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import { loadStandbyFile, type StandbyDeclaration } from './declarations.js';
import { passOrSkipped, type HostOf } from './manage.js';
import { readPassRecord, type StandbyPassRecord } from './pass-state.js';
import { emptyRecord } from './sync-pass.js';

/** How often standby.yml is read again while nothing is due (a new declaration waits at most this long). */
export const IDLE_RECHECK_MS = 30_000;
/** A pass that failed or could not run (its lock held by a migration, a host that did not answer) is tried again this soon, or after its interval if that is shorter. */
export const RETRY_AFTER_MS = 5 * 60_000;

export interface SchedulerOptions {
  /** Run what is due now, then return (for cron). */
  readonly once?: boolean;
  readonly signal?: AbortSignal;
  readonly now?: () => Date;
  /** Each pass's record as it ends (skipped ones too, and those that could not start). */
  readonly onPass?: (record: StandbyPassRecord) => void;
  /** Bytes a second each stream may take. */
  readonly bwlimit?: number;
}

/** When each stack is due: its last recorded pass (or the last try of this process, if later) plus its interval; a stack never passed is due now. Pure. */
export function nextDue(declaration: StandbyDeclaration, lastPass: StandbyPassRecord | null, lastTry: LastTry | undefined): number {
  const retry = Math.min(RETRY_AFTER_MS, declaration.intervalMs);
  const recorded = lastPass ? Date.parse(lastPass.startedAt) + (lastPass.ok ? declaration.intervalMs : retry) : Number.NEGATIVE_INFINITY;
  if (!lastTry) return recorded;
  return Math.max(recorded, lastTry.at + (lastTry.failed ? retry : declaration.intervalMs));
}

/** This process's last try of a stack: a try that wrote no record (skipped, or failed before it could) still counts. */
export interface LastTry {
  readonly at: number;
  readonly failed: boolean;
}

/** The declarations due at `now`, the most overdue first. Pure. */
export function duePasses(due: readonly { declaration: StandbyDeclaration; at: number }[], now: number): StandbyDeclaration[] {
  return due.filter((d) => d.at <= now).sort((a, b) => a.at - b.at).map((d) => d.declaration);
}

/** Run passes as they fall due until the signal aborts (or once). Returns how many passes were run. */
export async function runScheduler(config: LoadedConfig, hostOf: HostOf, options: SchedulerOptions = {}): Promise<number> {
  const now = options.now ?? (() => new Date());
  const tried = new Map<string, LastTry>();
  let passes = 0;
  while (!options.signal?.aborted) {
    const { standbys } = await loadStandbyFile(config.location.path);
    const schedule = await Promise.all(
      // A failed-over stack runs on its standby: no pass runs from the host it left.
      standbys.filter((declaration) => !declaration.failedOver).map(async (declaration) => ({
        declaration,
        at: nextDue(declaration, await readPassRecord(declaration.host, declaration.stack), tried.get(keyOf(declaration))),
      })),
    );
    for (const declaration of duePasses(schedule, now().getTime())) {
      if (options.signal?.aborted) break;
      const record = await onePass(declaration, hostOf, options);
      tried.set(keyOf(declaration), { at: Date.parse(record.startedAt), failed: !record.ok });
      passes += 1;
      options.onPass?.(record);
    }
    if (options.once) break;
    const later = schedule.map((d) => d.at).filter((at) => at > now().getTime());
    await sleep(Math.max(1_000, Math.min(IDLE_RECHECK_MS, ...later.map((at) => at - now().getTime()))), options.signal);
  }
  return passes;
}

/** One pass that never throws: what kept it from running is its record's error. */
async function onePass(declaration: StandbyDeclaration, hostOf: HostOf, options: SchedulerOptions): Promise<StandbyPassRecord> {
  const started = new Date();
  const passOptions = { ...(options.signal ? { signal: options.signal } : {}), ...(options.bwlimit ? { bwlimit: options.bwlimit } : {}) };
  return passOrSkipped(declaration, hostOf, passOptions).catch((error: unknown) => ({ ...emptyRecord(declaration, started), error: describeError(error) }));
}

function keyOf(declaration: StandbyDeclaration): string {
  return `${declaration.host}/${declaration.stack}`;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
