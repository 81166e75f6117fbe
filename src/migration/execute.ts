/**
 * Walk a migration plan: pre-flight, seed while the stack runs, stop, send
 * the rest, verify the data (while nothing runs on either copy), move the
 * stack folder with the rewritten compose file, carry missing images, start
 * on the target and wait until every service runs; then, when asked, remove
 * the source's copy. Any failure rolls back (rollback.ts): the target's stack
 * is taken down, what the migration created there removed (kept with
 * --keep-failed), and the source's stack started again, its data untouched.
 * Each phase is journalled before it acts, so an interrupted migration can be
 * resumed (resume.ts) from the phase it reached.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { command } from '../ssh/quote.js';
import type { DockerHost } from '../docker/docker-host.js';
import { deployStack, stackAction, stackComposeFile } from '../docker/stacks.js';
import { describeError } from '../errors.js';
import { compareManifests, describeDifferences, readManifest } from '../transfer/manifest.js';
import type { ProgressListener } from '../transfer/progress.js';
import { transferServices, type TransferSummary } from '../transfer/transfer-services.js';
import { zfsCommands } from '../zfs/commands.js';
import { MigrationCancelledError, MigrationFailedError, MigrationRefusedError, SourceRemovalFailedError } from './errors.js';
import { lastMovedAway, MigrationJournal, type RecordedOptions, type VerifiedPath } from './journal.js';
import { planMigration, type MigrationPlan } from './plan.js';
import { preflight, type PreflightResult } from './preflight.js';
import { removeSourceCopy } from './remove-source.js';
import { asideFolder, rollBack, startedPhases } from './rollback.js';
import { carryImages, copyFolder } from './stream-copy.js';
import { crashHereIfTestAsks } from './test-crash-hook.js';
import { waitUntilRunning } from './wait-running.js';

/** The phases in order; `remove-source` comes after the migration succeeded. */
export const PHASES = ['preflight', 'seed', 'stop', 'final-sync', 'verify', 'stack-folder', 'images', 'start', 'remove-source'] as const;
export type Phase = (typeof PHASES)[number];

/** What a run needs besides the recorded choices: the same for a first run and a resume. */
export interface RunOptions {
  readonly startTimeoutMs?: number;
  readonly onProgress?: ProgressListener;
  /** Where the journal lives (default: ~/.local/state/docker-mcp/migrations). */
  readonly journalDir?: string;
  /** Cancels the migration at the next phase; what it did is rolled back as for a failure. */
  readonly signal?: AbortSignal;
}

export interface MigrationOptions extends RunOptions {
  readonly cold?: boolean;
  readonly method?: 'auto' | 'zfs' | 'rsync';
  readonly route?: 'auto' | 'direct' | 'relay';
  readonly compress?: 'auto' | 'on' | 'off';
  /** On failure, keep the data received on the target (default: remove what the migration created there). */
  readonly keepFailed?: boolean;
  /** Once the stack runs on the target, remove its folder and moved data on the source. Needs `yes`. */
  readonly removeSource?: boolean;
  /** The confirmation --remove-source needs. */
  readonly yes?: boolean;
  /** Go past the pre-flight refusals that are safe to override (mounts that do not move). */
  readonly force?: boolean;
  /** Override the generated id (tests). */
  readonly id?: string;
}

export interface MigrationReport {
  readonly id: string;
  readonly stack: string;
  readonly source: string;
  readonly target: string;
  readonly mode: 'low-downtime' | 'cold';
  readonly preflight: PreflightResult;
  readonly seed: TransferSummary | null;
  readonly final: TransferSummary;
  readonly imagesCarried: readonly string[];
  /** From the stop on the source to every service running on the target. */
  readonly downtimeSeconds: number;
  readonly totalSeconds: number;
  readonly verified: readonly VerifiedPath[];
  /** The phase an interrupted migration was resumed from, or null. */
  readonly resumedFrom: Phase | null;
  /** What --remove-source removed on the source, or null when not asked. */
  readonly removedFromSource: readonly string[] | null;
}

export function newMigrationId(stack: string, now = new Date()): string {
  return `${stack}-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/** The plan alone, from the stack's compose file on the source: --dry-run. */
export async function planStackMigration(source: DockerHost, target: DockerHost, stack: string, options: MigrationOptions = {}): Promise<MigrationPlan> {
  const composeFile = await stackComposeFile(source, stack);
  const composeText = (await source.transport.exec(command(['cat', '--', composeFile]))).stdout;
  return planMigration({
    id: options.id ?? newMigrationId(stack),
    stack,
    source: source.host,
    target: target.host,
    composeText,
    composeFile,
    cold: options.cold ?? false,
    method: options.method ?? 'auto',
  });
}

export async function migrateStack(source: DockerHost, target: DockerHost, stack: string, options: MigrationOptions = {}): Promise<MigrationReport> {
  const started = Date.now();
  if (options.removeSource && !options.yes) {
    throw new MigrationRefusedError(
      `--remove-source deletes ${stack}'s stack folder and its moved data on ${source.host.id} once the stack runs on ${target.host.id}: ` +
        'add --yes to confirm (nothing was changed)',
    );
  }
  const plan = await planStackMigration(source, target, stack, options);
  const movingBack = await lastMovedAway(plan.stack, plan.target, plan.source, options.journalDir);
  const recorded: RecordedOptions = {
    method: options.method ?? 'auto',
    route: options.route ?? 'auto',
    compress: options.compress ?? 'auto',
    keepFailed: options.keepFailed ?? false,
    removeSource: options.removeSource ?? false,
    force: options.force ?? false,
  };
  const journal = await MigrationJournal.begin(plan, options.journalDir, { options: recorded, movingBack });
  return walkPlan(journal, source, target, options, 'preflight', started);
}

/**
 * Walk the journal's plan from `from` on, then finish the journal. Shared by
 * a first run and a resume; a failure rolls back from what the journal says
 * was reached, over every run.
 */
export async function walkPlan(
  journal: MigrationJournal,
  source: DockerHost,
  target: DockerHost,
  options: RunOptions,
  from: Phase,
  started: number,
  resumed = false,
): Promise<MigrationReport> {
  const { entry } = journal;
  const recorded = recordedOptions(entry.options);
  let current: Phase = from;
  const phase = async (name: Phase, message: string) => {
    if (options.signal?.aborted) throw new MigrationCancelledError(entry.id, name);
    current = name;
    await journal.phase(name, 'started', message);
    options.onProgress?.({ type: 'migration-phase', phase: name, message });
    crashHereIfTestAsks(name);
  };
  let report: MigrationReport;
  try {
    report = await runPhases(journal, phase, source, target, options, recorded, from, started, resumed);
  } catch (error) {
    const reached = startedPhases(entry);
    if (!['seed', 'stop', 'final-sync', 'stack-folder', 'start'].some((p) => reached.has(p))) {
      await journal.finish(error instanceof MigrationRefusedError ? 'refused' : 'failed', describeError(error));
      throw error;
    }
    const rolledBack = await rollBackJournalled(journal, source, target, recorded.keepFailed, describeError(error), options);
    const failure = new MigrationFailedError(`migration ${entry.id} failed at ${current}: ${describeError(error)}`, rolledBack, { cause: error });
    await journal.finish('failed', failure.message);
    throw failure;
  }
  const done = `downtime ${report.downtimeSeconds.toFixed(1)} s`;
  if (!recorded.removeSource) {
    await journal.finish('succeeded', done);
    return report;
  }
  // Past this point the stack runs on the target: a failure is reported, never rolled back.
  try {
    await phase('remove-source', `removing ${entry.plan.stack}'s folder and moved data on ${entry.plan.source}`);
    const removed = await removeSourceCopy(entry.plan, source);
    await journal.record({ removedFromSource: removed });
    await journal.finish('succeeded', `${done}; removed from ${entry.plan.source}: ${removed.join(', ') || 'nothing left'}`);
    return { ...report, removedFromSource: removed, totalSeconds: (Date.now() - started) / 1000 };
  } catch (error) {
    const failure = new SourceRemovalFailedError(entry.id, entry.plan.stack, entry.plan.source, entry.plan.target, describeError(error), { cause: error });
    await journal.finish('succeeded', failure.message);
    throw failure;
  }
}

/** Roll back, journalled before and after, so an interrupted rollback is resumed too. */
export async function rollBackJournalled(
  journal: MigrationJournal,
  source: DockerHost,
  target: DockerHost,
  keepFailed: boolean,
  reason: string,
  options: RunOptions,
): Promise<string[]> {
  await journal.phase('rollback', 'started', reason);
  options.onProgress?.({ type: 'migration-phase', phase: 'rollback', message: `rolling back: ${reason}` });
  crashHereIfTestAsks('rollback');
  const done = await rollBack(journal.entry, source, target, keepFailed);
  await journal.phase('rollback', 'done', done.join('; '));
  return done;
}

export function recordedOptions(recorded: RecordedOptions | undefined): RecordedOptions {
  return recorded ?? { method: 'auto', route: 'auto', compress: 'auto', keepFailed: false, removeSource: false, force: false };
}

async function runPhases(
  journal: MigrationJournal,
  phase: (name: Phase, message: string) => Promise<void>,
  source: DockerHost,
  target: DockerHost,
  options: RunOptions,
  recorded: RecordedOptions,
  from: Phase,
  started: number,
  resumed: boolean,
): Promise<MigrationReport> {
  const { entry } = journal;
  const { plan } = entry;
  const movingBack = entry.movingBack ?? false;
  const runs = (name: Phase) => PHASES.indexOf(name) >= PHASES.indexOf(from);
  const services = plan.dataPaths.map(({ service, sourcePath, targetPath }) => ({ service, sourcePath, targetPath }));
  const transfer = (tag: string, only = services) =>
    transferServices({
      source,
      target,
      services: only,
      snapshotTag: tag,
      method: recorded.method,
      route: recorded.route,
      compress: recorded.compress,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });

  if (runs('preflight')) {
    await phase('preflight', `checking ${plan.target} for ${plan.stack}${movingBack ? ' (moving back: the stale copy there is replaced)' : ''}`);
    // A re-run keeps the first inventory: what an earlier run created is still ours.
    const own = (entry.targetBefore ?? []).filter((b) => b.state !== 'present').map((b) => b.targetPath);
    const checked = await preflight(plan, source, target, { movingBack, force: recorded.force, ownTargetPaths: own });
    await journal.record({ preflight: checked, targetBefore: entry.targetBefore ?? checked.targetBefore });
  }
  const checked = entry.preflight;
  if (!checked) throw new Error(`the journal of ${plan.id} has no pre-flight result to go on from`);

  if (runs('seed') && plan.mode === 'low-downtime' && services.length > 0) {
    await phase('seed', `seeding ${services.length} data paths while ${plan.stack} runs on ${plan.source}`);
    const seed = await transfer(`${plan.id}-seed`);
    await journal.record({ seed });
    // A plain directory in use cannot become a dataset yet: it goes in full after the stop.
    const blocking = seed.results.filter((r) => !r.ok && r.error?.name !== 'ServicePathInUseError');
    if (blocking.length > 0) {
      throw new Error(`seeding failed before anything was stopped: ${blocking.map((r) => `${r.service}: ${r.error?.message}`).join('; ')}`);
    }
  }

  if (runs('stop')) {
    await phase('stop', `stopping ${plan.stack} on ${plan.source}`);
    await stackAction(source, plan.stack, 'down');
  }

  if (runs('final-sync')) {
    await phase('final-sync', plan.mode === 'cold' ? 'copying the data' : 'sending what changed since the seed');
    const final = await transfer(plan.id);
    await journal.record({ final });
    const failed = final.results.filter((r) => !r.ok);
    if (failed.length > 0) throw new Error(`data transfer failed: ${failed.map((r) => `${r.service}: ${r.error?.message}`).join('; ')}`);
  }

  if (runs('verify')) {
    await phase('verify', 'comparing the data on both hosts, before anything runs on it');
    const verified: VerifiedPath[] = [];
    for (const dataPath of plan.dataPaths) {
      // ZFS data arrived as a checksummed stream whose snapshot guid matched:
      // its metadata is compared (cheap, so downtime does not grow with the
      // data's size); rsync copies are compared down to every file's hash.
      const hashes = dataPath.method === 'rsync';
      const [before, firstLook] = await Promise.all([
        readManifest(source.transport, dataPath.sourcePath, { hashes }),
        readManifest(target.transport, dataPath.targetPath, { hashes }),
      ]);
      let after = firstLook;
      let differences = compareManifests(before, after);
      const dataset = entry.targetBefore?.find((b) => b.targetPath === dataPath.targetPath)?.dataset;
      if (differences.length > 0 && dataPath.method === 'zfs' && dataset) {
        // zfs-fuse can serve a stale view of a dataset just received into: look again, freshly mounted.
        await remount(target, dataset);
        after = await readManifest(target.transport, dataPath.targetPath, { hashes });
        differences = compareManifests(before, after);
      }
      if (differences.length > 0) throw new Error(`data of ${dataPath.service} differs on ${plan.target}: ${describeDifferences(differences)}`);
      verified.push({ path: dataPath.targetPath, entries: after.entries.size, bytes: after.totalBytes });
    }
    await journal.record({ verified });
  }

  const aside = asideFolder(plan.targetStackDir, plan.id);
  const isDirectory = async (path: string) => (await target.transport.exec(command(['test', '-d', path]), { okExitCodes: [0, 1] })).exitCode === 0;
  if (runs('stack-folder')) {
    await phase('stack-folder', `copying ${plan.sourceStackDir} to ${plan.target}:${plan.targetStackDir}`);
    // Moving back, the stale folder is kept aside until the stack runs, and put back on rollback.
    // Already aside (a resumed run): what is at the folder's place is this migration's own partial copy.
    if (movingBack && !(await isDirectory(aside)) && (await isDirectory(plan.targetStackDir))) {
      await target.transport.exec(command(['mv', '-T', '--', plan.targetStackDir, aside]));
    }
    await copyFolder(source.transport, plan.sourceStackDir, target.transport, plan.targetStackDir);
    await deployStack(target, plan.stack, plan.targetComposeText, { start: false });
  }

  if (runs('images') && checked.imagesToCarry.length > 0) {
    await phase('images', `carrying ${checked.imagesToCarry.join(', ')} to ${plan.target}`);
    await carryImages(source.transport, target.transport, checked.imagesToCarry);
  }

  const final = entry.final;
  if (!final) throw new Error(`the journal of ${plan.id} has no final transfer recorded`);
  await phase('start', `starting ${plan.stack} on ${plan.target}`);
  await stackAction(target, plan.stack, 'up');
  const health = await waitUntilRunning(target, plan.stack, plan.services, options.startTimeoutMs ?? 120_000);
  if (!health.ready) {
    throw new Error(`not every service came up on ${plan.target}: ${health.services.map((s) => `${s.service} ${s.state}${s.health ? `/${s.health}` : ''}`).join(', ')}`);
  }
  const runningAt = Date.now();
  if (await isDirectory(aside)) await target.transport.exec(command(['rm', '-rf', '--', aside]));

  const stopped = entry.phases.find((p) => p.phase === 'stop' && p.state === 'started');
  const stoppedAt = stopped ? Date.parse(stopped.at) : runningAt;
  return {
    id: plan.id,
    stack: plan.stack,
    source: plan.source,
    target: plan.target,
    mode: plan.mode,
    preflight: checked,
    seed: entry.seed ?? null,
    final,
    imagesCarried: checked.imagesToCarry,
    downtimeSeconds: (runningAt - stoppedAt) / 1000,
    totalSeconds: (Date.now() - started) / 1000,
    verified: entry.verified ?? [],
    resumedFrom: resumed ? from : null,
    removedFromSource: null,
  };
}

/** Unmount and mount a dataset again; zfs-fuse calls a just-used mount busy for a moment. */
async function remount(host: DockerHost, dataset: string): Promise<void> {
  for (let attempt = 1; attempt <= 12; attempt++) {
    const result = await host.transport.exec(zfsCommands.unmount(dataset), { okExitCodes: [0, 1] });
    if (result.exitCode === 0 || !/busy/.test(result.stderr)) break;
    await sleep(250);
  }
  await host.transport.exec(zfsCommands.mount(dataset), { okExitCodes: [0, 1] });
}
