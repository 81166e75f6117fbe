/**
 * `docker-mcp migrate --resume ID`: go on with a migration whose process died
 * (crash, kill -9, lost machine), from what its journal says it reached.
 *
 * - Pre-flight or seed: nothing was stopped. Start again from pre-flight:
 *   the seed's snapshots and what it sent are reused, and the inventory of
 *   the target taken by the first run is kept, so a later rollback still
 *   knows what the migration created.
 * - Copying the stack folder or carrying images (still before the stop):
 *   copy the folder afresh (the partial copy is the migration's own) and go
 *   on; the seed, which runs beside the folder's copy, is run again when the
 *   journal has no result of it. Pre-flight is not run again: it would find
 *   the copied folder and take it for someone else's stack.
 * - From the stop up to the folder's sync: the stack is (being) stopped on
 *   the source. Continue rather than roll back: make sure it is down, send
 *   what changed (nothing, when the final sync had finished), verify, bring
 *   the folder's copy up to date, start on the target. Any failure there
 *   rolls back as usual.
 * - At the start, or removing the source: start the stack on the target (a
 *   no-op when it runs), check every service runs, and finish.
 * - While rolling back: finish the rollback.
 */
import type { DockerHost } from '../docker/docker-host.js';
import { describeError } from '../errors.js';
import { MigrationFailedError } from './errors.js';
import { recordedOptions, rollBackJournalled, walkPlan, type MigrationReport, type Phase, type RunOptions } from './execute.js';
import { MigrationJournal, NotResumableError, readMigration, type JournalEntry } from './journal.js';

/** The host of a given id, with its transport (the CLI and the MCP layer each have their own pool). */
export type HostLookup = (hostId: string) => DockerHost;

export interface ResumeOutcome {
  readonly id: string;
  /** The last phase the interrupted run journalled as started; null when it had not started one. */
  readonly interruptedAt: string | null;
  /** What the resume did and why, in words. */
  readonly decision: string;
  readonly report: MigrationReport;
}

export type ResumeDecision =
  | { readonly kind: 'continue'; readonly from: Phase; readonly reason: string }
  | { readonly kind: 'roll-back'; readonly reason: string };

/** Pure: where to go on from, given the journal. */
export function decideResume(entry: Pick<JournalEntry, 'phases' | 'final'>): ResumeDecision {
  if (entry.phases.some((p) => p.phase === 'rollback')) {
    return { kind: 'roll-back', reason: 'it had failed and was rolling back: finishing the rollback' };
  }
  const last = lastStartedPhase(entry);
  if (last === null || last === 'preflight' || last === 'seed') {
    return { kind: 'continue', from: 'preflight', reason: 'nothing was stopped yet: starting again from pre-flight (what the seed sent is reused)' };
  }
  // A journal of the earlier order copied the folder after the stop: only one that never reached the stop is before it.
  const stopped = entry.phases.some((p) => p.phase === 'stop' && p.state === 'started');
  if ((last === 'stack-folder' || last === 'images') && !stopped) {
    return { kind: 'continue', from: 'stack-folder', reason: 'nothing was stopped yet: copying the stack folder again (and seeding again, if the seed had not ended) and going on' };
  }
  // Without the final transfer on record, go back to the stop.
  if ((last === 'start' || last === 'remove-source') && entry.final) {
    return { kind: 'continue', from: 'start', reason: 'the data was verified and the stack was being started on the target: starting it (or finding it running) and checking it' };
  }
  return {
    kind: 'continue',
    from: 'stop',
    reason: 'the stack was stopped on the source: making sure it is down, sending what changed, verifying, and going on',
  };
}

export function lastStartedPhase(entry: Pick<JournalEntry, 'phases'>): string | null {
  return entry.phases.filter((p) => p.state === 'started' && p.phase !== 'resume').at(-1)?.phase ?? null;
}

/**
 * Resume the interrupted migration `id`: returns the finished migration's
 * report, or throws MigrationFailedError saying what was rolled back.
 * Refused (NotResumableError, MigrationLockedError) when the migration is
 * not interrupted: it finished, or its process still runs.
 */
export async function resumeMigration(id: string, hosts: HostLookup, options: RunOptions = {}): Promise<ResumeOutcome> {
  const started = Date.now();
  const recordedEntry = await readMigration(id, options.journalDir);
  if (recordedEntry.status === 'running' && (!recordedEntry.options || !('movingBack' in recordedEntry))) {
    throw new NotResumableError(
      `migration ${id} was journalled by an older docker-mcp that did not record what it created on ${recordedEntry.target}: ` +
        `it cannot be resumed safely. Check both hosts ("docker-mcp migrations show ${id}" shows where it stopped), then delete its lock file`,
    );
  }
  const source = hosts(recordedEntry.source);
  const target = hosts(recordedEntry.target);
  const journal = await MigrationJournal.resume(id, options.journalDir);
  const { entry } = journal;
  const interruptedAt = lastStartedPhase(entry);
  const decision = decideResume(entry);
  await journal.phase('resume', 'started', `interrupted at ${interruptedAt ?? 'the start'}: ${decision.reason}`);
  options.onProgress?.({ type: 'migration-phase', phase: 'resume', message: `${id} was interrupted at ${interruptedAt ?? 'the start'}: ${decision.reason}` });

  if (decision.kind === 'roll-back') {
    const failedWith = entry.phases.find((p) => p.phase === 'rollback' && p.state === 'started')?.detail ?? 'unknown';
    let done: string[];
    try {
      done = await rollBackJournalled(journal, source, target, recordedOptions(entry.options).keepFailed, `resuming the rollback (the failure: ${failedWith})`, options);
    } catch (error) {
      await journal.finish('failed', `resuming the rollback failed: ${describeError(error)}`);
      throw error;
    }
    const failure = new MigrationFailedError(`migration ${id} had failed (${failedWith}) and was interrupted while rolling back; the rollback is finished`, done);
    await journal.finish('failed', failure.message);
    throw failure;
  }
  const report = await walkPlan(journal, source, target, options, decision.from, started, true);
  return { id, interruptedAt, decision: decision.reason, report };
}
