/**
 * Walk a migration plan: pre-flight; while the stack still runs, seed its
 * data and, side by side with it, copy the stack folder (stack files
 * rewritten for the target, checked by compose there), then carry missing
 * images; stop; send the rest, every data
 * path at once (bounded); verify the data (while nothing runs on either
 * copy); bring the folder's copy up to date with what changed since it was
 * made; start on the target and wait until every service runs; then, when
 * asked, remove the source's copy. Only the stop, the last sends, the checks
 * and the start are inside the outage. Any failure rolls back (rollback.ts):
 * the target's stack is taken down, what the migration created there removed
 * (kept with --keep-failed), and the source's stack started again, its data
 * untouched.
 * Each phase is journalled before it acts, so an interrupted migration can be
 * resumed (resume.ts) from the phase it reached.
 */
import { command } from '../ssh/quote.js';
import type { DockerHost } from '../docker/docker-host.js';
import { readResolvedProject } from '../docker/compose-config.js';
import { isUnderPath } from '../docker/compose-file.js';
import { removeFolderGuarded } from '../docker/removal-guard.js';
import { profilesOf, readStackSource, withProfiles } from '../docker/stack-source.js';
import { deployStack, hostCompose, stackAction, stackActionAt } from '../docker/stacks.js';
import { tagImage } from '../docker/images.js';
import { describeError } from '../errors.js';
import { compareManifests, describeDifferences, readManifest } from '../transfer/manifest.js';
import { formatRate } from '../transfer/bwlimit.js';
import type { ProgressListener } from '../transfer/progress.js';
import type { RouteKey } from '../transfer/route-key.js';
import { transferServices, type ChosenRoute, type TransferSummary } from '../transfer/transfer-services.js';
import { pruneOlderThan } from '../transfer/zfs-transfer.js';
import { ZfsHost } from '../zfs/zfs-host.js';
import { MigrationCancelledError, MigrationFailedError, MigrationRefusedError, PreflightRefusedError, SourceRemovalFailedError } from './errors.js';
import { lastMovedAway, MigrationJournal, type JournalEntry, type RecordedOptions, type VerifiedPath, type VerifiedVolume } from './journal.js';
import { planMigration, type MigrationPlan, type TargetFile } from './plan.js';
import { preflight, type PreflightResult } from './preflight.js';
import { removeSourceCopy } from './remove-source.js';
import { issueJournalledRouteKey, revokeJournalledRouteKey } from './route-key-lifecycle.js';
import { asideFolder, folderLeftByFailedRun, rollBack, startedPhases } from './rollback.js';
import { syncStackFolder } from './folder-sync.js';
import { carryImages, copyFolder, missingImages } from './stream-copy.js';
import { copyVolumes, verifyVolumes } from './volume-copy.js';
import { allEnded } from './all-ended.js';
import { noteMovedStack } from '../standby/seen-stacks.js';
import { cloneStagedCopies } from '../standby/staging.js';
import { checkTargetConfig, writeTargetFiles } from './target-config.js';
import { crashHereIfTestAsks, pauseHereIfTestAsks } from './test-crash-hook.js';
import { waitUntilRunning } from './wait-running.js';

/** The phases in order; `remove-source` comes after the migration succeeded. */
export const PHASES = ['preflight', 'seed', 'stack-folder', 'images', 'stop', 'final-sync', 'verify', 'folder-sync', 'start', 'remove-source'] as const;
export type Phase = (typeof PHASES)[number];

/** What a run needs besides the recorded choices: the same for a first run and a resume. */
export interface RunOptions {
  readonly startTimeoutMs?: number;
  readonly onProgress?: ProgressListener;
  /** Where the journal lives (default: ~/.local/state/docker-mcp/migrations). */
  readonly journalDir?: string;
  /** Cancels the migration: its transfers are ended, and at the next phase what it did is rolled back as for a failure. */
  readonly signal?: AbortSignal;
  /** Told the migration's id once its journal is written (the CLI names it when a second signal stops the rollback). */
  readonly onJournal?: (migrationId: string) => void;
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
  /** At most this many bytes a second for everything the migration sends (--bwlimit; see transfer/bwlimit.ts). */
  readonly bwlimit?: number;
  /** Override the generated id (tests). */
  readonly id?: string;
  /**
   * Where the target keeps the stack's standby copy by rsync (by compose's
   * project name), or null: asked once the stack is read. Its copy is cloned
   * into place before the first transfer, which then sends only what changed.
   */
  readonly standbyStagingOf?: (stack: string) => Promise<string | null>;
  /** The target holds the stack's older copy though no migration left it there (a failback): its volumes and rsync paths are replaced. */
  readonly movingBack?: boolean;
}

/** How long each phase of this run took, in the order they ran; `inDowntime` from the stop on. */
export interface PhaseTiming {
  readonly phase: string;
  readonly seconds: number;
  readonly inDowntime: boolean;
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
  /** The phases of this run, in order, each with its time (the last, start, up to every service running). */
  readonly phases: readonly PhaseTiming[];
  /** The --bwlimit the transfers kept to, in bytes a second, or null. */
  readonly bwlimit: number | null;
  readonly totalSeconds: number;
  readonly verified: readonly VerifiedPath[];
  /** Named volumes copied and verified (absent from reports of older runs). */
  readonly volumes?: readonly VerifiedVolume[];
  /** The stack folder's copy on the target, verified by manifest (data inside the folder moves with it). */
  readonly stackFolder?: VerifiedPath | null;
  /** The phase an interrupted migration was resumed from, or null. */
  readonly resumedFrom: Phase | null;
  /** What --remove-source removed on the source, or null when not asked. */
  readonly removedFromSource: readonly string[] | null;
  /** What --remove-source left on the source and why, or null when not asked. */
  readonly keptOnSource: readonly string[] | null;
  /** Source datasets set readonly=on when the stack left (undone when it moves back). */
  readonly leftReadonly: readonly string[];
  /** Target paths cloned from the standby's rsync copy before the first transfer (absent from older reports). */
  readonly seededFromStandby?: readonly string[];
}

export function newMigrationId(stack: string, now = new Date()): string {
  return `${stack}-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/**
 * A dry run: the plan, and what pre-flight's checks of both hosts would
 * refuse now (they only read: ports, host-provided paths, images, space,
 * what the target holds). Pre-flight stops at its first refusal, so at most
 * one joins those the plan alone knows.
 */
export async function dryRunStackMigration(source: DockerHost, target: DockerHost, stack: string, options: MigrationOptions = {}): Promise<MigrationPlan> {
  return (await checkStackMigration(source, target, stack, options)).plan;
}

/**
 * The dry run's plan, with what pre-flight measured when it refused nothing
 * (the data's size, the target's free space), or null when it refused.
 */
export async function checkStackMigration(
  source: DockerHost,
  target: DockerHost,
  stack: string,
  options: MigrationOptions = {},
): Promise<{ plan: MigrationPlan; preflight: PreflightResult | null }> {
  const plan = await planStackMigration(source, target, stack, options);
  // Already refused whatever the hosts hold: pre-flight would only say it again.
  if ((plan.refusals ?? []).some((r) => !r.forceApplies)) return { plan, preflight: null };
  const movingBack = await lastMovedAway(plan.stack, plan.target, plan.source, options.journalDir);
  try {
    // force: the mounts that would not move are among the plan's refusals already; what the hosts hold is what is new.
    return { plan, preflight: await preflight(plan, source, target, { movingBack, force: true }) };
  } catch (error) {
    if (!(error instanceof PreflightRefusedError)) throw error;
    return { plan: { ...plan, refusals: [...(plan.refusals ?? []), { reason: error.reason, forceApplies: false }] }, preflight: null };
  }
}

/** The plan alone, from the stack's compose file on the source, without asking the target anything. */
export async function planStackMigration(source: DockerHost, target: DockerHost, stack: string, options: MigrationOptions = {}): Promise<MigrationPlan> {
  // The source's datasets are listed while compose reads the stack: neither needs the other.
  const listingDatasets = source.host.zfs_capable ? new ZfsHost(source.transport).filesystems() : Promise.resolve([]);
  listingDatasets.catch(() => undefined);
  const read = await readStackSource(source, stack);
  const runningServices = read.containers.filter((c) => c.stack === read.location.project && c.state === 'running' && c.service).map((c) => c.service as string);
  // Running services in a profile were started with it: the stack is read, stopped and started with those profiles.
  const profiles = profilesOf(read.files.composeFiles, runningServices);
  const resolved = profiles.length === 0 ? read.resolved : await readResolvedProject(source, await hostCompose(source), read.location, profiles);
  const stackSource = { ...read, resolved: withProfiles(resolved, read.files.composeFiles, profiles) };
  const sourceDatasetMounts = (await listingDatasets).map((fs) => fs.mountpoint);
  return planMigration({
    sourceDatasetMounts,
    runningServices,
    profiles,
    id: options.id ?? newMigrationId(stackSource.location.project),
    stack: stackSource.location.project,
    stackSource,
    source: source.host,
    target: target.host,
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
  const movingBack = options.movingBack === true || (await lastMovedAway(plan.stack, plan.target, plan.source, options.journalDir));
  const staging = await options.standbyStagingOf?.(plan.stack);
  const recorded: RecordedOptions = {
    method: options.method ?? 'auto',
    route: options.route ?? 'auto',
    compress: options.compress ?? 'auto',
    keepFailed: options.keepFailed ?? false,
    removeSource: options.removeSource ?? false,
    force: options.force ?? false,
    ...(options.bwlimit === undefined ? {} : { bwlimit: options.bwlimit }),
    ...(staging ? { standbyStaging: staging } : {}),
  };
  const journal = await MigrationJournal.begin(plan, options.journalDir, { options: recorded, movingBack });
  options.onJournal?.(journal.entry.id);
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
    await pauseHereIfTestAsks(name);
  };
  let report: MigrationReport;
  // What an interrupted run left in place; this run makes its own when it needs one.
  await revokeJournalledRouteKey(journal, source, target, options.onProgress);
  try {
    // Two phases may run side by side: a failure names the one it came from.
    const failedIn = (name: Phase) => {
      current = name;
    };
    report = await runPhases(journal, phase, failedIn, source, target, options, recorded, from, started, resumed);
  } catch (error) {
    await revokeJournalledRouteKey(journal, source, target, options.onProgress);
    const reached = startedPhases(entry);
    if (!['seed', 'stack-folder', 'stop', 'final-sync', 'folder-sync', 'start'].some((p) => reached.has(p))) {
      await journal.finish(error instanceof MigrationRefusedError ? 'refused' : 'failed', describeError(error));
      throw error;
    }
    const rolledBack = await rollBackJournalled(journal, source, target, recorded.keepFailed, describeError(error), options);
    const failure = new MigrationFailedError(`migration ${entry.id} failed at ${current}: ${describeError(error)}`, rolledBack, { cause: error });
    await journal.finish('failed', failure.message);
    throw failure;
  }
  await revokeJournalledRouteKey(journal, source, target, options.onProgress);
  // What a failover of a whole host will know of this stack if the target dies before it is listed.
  await noteMovedStack(entry.plan.source, entry.plan.target, entry.plan.stack);
  const done = `downtime ${report.downtimeSeconds.toFixed(1)} s`;
  if (!recorded.removeSource) {
    await journal.finish('succeeded', done);
    return report;
  }
  // Past this point the stack runs on the target: a failure is reported, never rolled back.
  try {
    await phase('remove-source', `removing ${entry.plan.stack}'s folder and moved data on ${entry.plan.source}`);
    const { removed, kept } = await removeSourceCopy(entry.plan, source, entry);
    await journal.record({ removedFromSource: removed, keptOnSource: kept });
    const keptNote = kept.length > 0 ? `; kept: ${kept.join('; ')}` : '';
    await journal.finish('succeeded', `${done}; removed from ${entry.plan.source}: ${removed.join(', ') || 'nothing left'}${keptNote}`);
    return { ...report, removedFromSource: removed, keptOnSource: kept, totalSeconds: (Date.now() - started) / 1000 };
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
  failedIn: (name: Phase) => void,
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
  let routeKey: Promise<RouteKey | null> | undefined;
  const ownRouteKey = () => (routeKey ??= recorded.route === 'relay' ? Promise.resolve(null) : issueJournalledRouteKey(journal, source, target, options.onProgress));
  const throttle = recorded.bwlimit ? { bytesPerSecond: recorded.bwlimit } : undefined;
  const limited = recorded.bwlimit ? ` (at most ${formatRate(recorded.bwlimit)})` : '';
  // The seed's route, proven then, is the final sync's: no probe inside the outage. A resumed run proves it afresh.
  let provenRoute: ChosenRoute | undefined;
  const zfs = { source: new ZfsHost(source.transport), target: new ZfsHost(target.transport) };
  const transfer = async (tag: string, concurrency?: number, pruneLater = false, keepStandbyCopies = false) => {
    // A key still being made is waited for only when the route is chosen, after the inventory and snapshots.
    const key = ownRouteKey();
    const keyOrNone = key.catch(() => null);
    // The key's issue proved the direct route: the transfer need not prove it again.
    const routeOfKey = keyOrNone.then((made): ChosenRoute | undefined => (made?.reaches ? { kind: 'direct', targetFromSource: made.targetFromSource, reason: null } : undefined));
    const summary = await transferServices({
      source,
      target,
      services,
      snapshotTag: tag,
      method: recorded.method,
      route: recorded.route,
      compress: recorded.compress,
      ...(concurrency ? { concurrency } : {}),
      knownRoute: provenRoute ?? routeOfKey,
      zfs,
      pruneLater,
      keepStandbyCopies,
      onRoute: (chosen: ChosenRoute) => {
        provenRoute ??= chosen;
      },
      ...(recorded.bwlimit ? { bwlimit: recorded.bwlimit } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      targetFromSource: keyOrNone.then((made) => made?.targetFromSource),
      // What the first inventory found missing is this migration's own: only that may take receive -F.
      ownTargetDatasets: (entry.targetBefore ?? []).flatMap((before) => (before.state !== 'present' && before.dataset ? [before.dataset] : [])),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    // A key that could not be journalled fails the transfer, as it did when it was awaited first.
    await key;
    return summary;
  };
  // Phases this migration started before this run (a resume): what they left on the target is its own.
  const startedEarlier = startedPhases(entry);
  let folderLeftBy: string | null = null;

  if (runs('preflight')) {
    await phase('preflight', `checking ${plan.target} for ${plan.stack}${movingBack ? ' (moving back: the stale copy there is replaced)' : ''}`);
    // A re-run keeps the first inventory: what an earlier run created is still ours.
    const own = (entry.targetBefore ?? []).filter((b) => b.state !== 'present').map((b) => b.targetPath);
    folderLeftBy = await folderLeftByFailedRun(plan.stack, plan.source, plan.target, plan.id, journal.directory);
    // The key is made while the target is checked: its round trips are off the path to the stop. A
    // refusal waits for it, so that the key revoked after it is the one in place.
    const keyMade = ownRouteKey();
    keyMade.catch(() => undefined);
    const checked = await preflight(plan, source, target, { movingBack, force: recorded.force, ownTargetPaths: own, ownVolumes: entry.volumesCreated ?? [], folderLeftBy }).catch(
      async (error: unknown) => {
        await keyMade.catch(() => undefined);
        throw error;
      },
    );
    await journal.record({ preflight: checked, targetBefore: entry.targetBefore ?? checked.targetBefore });
  }
  const checked = entry.preflight;
  if (!checked) throw new Error(`the journal of ${plan.id} has no pre-flight result to go on from`);

  // Inside the first phase that may write on the target, so that a rollback takes the clones away. Once per run.
  let cloning: Promise<void> | undefined;
  const cloneStandbyCopy = () =>
    (cloning ??= (async () => {
      if (!recorded.standbyStaging || entry.seededFromStandby) return;
      const own = (entry.targetBefore ?? []).filter((b) => b.method === 'rsync' && b.state !== 'present').map((b) => b.targetPath);
      const seeded = own.length > 0 ? await cloneStagedCopies(target, recorded.standbyStaging, own) : [];
      await journal.record({ seededFromStandby: seeded });
      if (seeded.length > 0) options.onProgress?.({ type: 'transfer-step', service: '-', message: `cloned the standby's copy into ${seeded.join(', ')} on ${plan.target}: rsync sends only what changed since its last pass` });
    })());

  const seed = async () => {
    await cloneStandbyCopy();
    // A standby's copies stay standby copies until the final sync: stopped before it, the migration leaves the standby as it was.
    const seeded = await transfer(`${plan.id}-seed`, undefined, false, true);
    await journal.record({ seed: seeded });
    if (options.signal?.aborted) throw new MigrationCancelledError(entry.id, 'seed', 'during');
    // A plain directory in use cannot become a dataset yet: it goes in full after the stop.
    const blocking = seeded.results.filter((r) => !r.ok && r.error?.name !== 'ServicePathInUseError');
    if (blocking.length > 0) {
      throw new Error(`seeding failed before anything was stopped: ${blocking.map((r) => `${r.service}: ${r.error?.message}`).join('; ')}`);
    }
  };

  const aside = asideFolder(plan.targetStackDir, plan.id);
  const isDirectory = async (path: string) => (await target.transport.exec(command(['test', '-d', path]), { okExitCodes: [0, 1] })).exitCode === 0;
  const writeFiles = async (files: readonly TargetFile[] | undefined) => {
    if (files) {
      await writeTargetFiles(target, { ...plan, targetFiles: files });
      await checkTargetConfig(target, { ...plan, targetFiles: files }, source.host.appdata_path ?? '/');
    } else {
      await deployStack(target, plan.stack, plan.targetComposeText, { start: false });
    }
  };
  const copyStackFolder = async () => {
    // Moving back, the stale folder is kept aside until the stack runs, and put back on rollback.
    // Already aside (a resumed run): what is at the folder's place is this migration's own partial copy.
    if (movingBack && !(await isDirectory(aside)) && (await isDirectory(plan.targetStackDir))) {
      await target.transport.exec(command(['mv', '-T', '--', plan.targetStackDir, aside]));
    } else if ((startedEarlier.has('stack-folder') || folderLeftBy) && (await isDirectory(plan.targetStackDir))) {
      // This migration's own partial copy, or the one a failed run of it could not take away.
      await removeFolderGuarded(target, plan.stack, plan.targetStackDir);
    }
    // Not verified yet: the stack may still write in its folder. The folder-sync after the stop proves the copy.
    await copyFolder(source.transport, plan.sourceStackDir, target.transport, plan.targetStackDir, throttle, { whileInUse: true });
    await writeFiles(plan.targetFiles);
    // A cold move clones before its stop too: the copy then takes only the difference inside the outage.
    await cloneStandbyCopy();
  };

  // A resume from the folder's copy finds the seed unfinished when both ran at once and the seed had not ended.
  const seeds = plan.mode === 'low-downtime' && services.length > 0 && (runs('seed') || (from === 'stack-folder' && !entry.seed));
  // The seed and the folder's copy run side by side, unless a data path and a stack folder hold one another (both would write there).
  const nested = (a: string, b: string) => isUnderPath(a, b) || isUnderPath(b, a);
  const sideBySide = !plan.dataPaths.some((d) => nested(d.targetPath, plan.targetStackDir) || nested(d.sourcePath, plan.sourceStackDir));
  let seeding: Promise<void> = Promise.resolve();
  if (seeds) {
    await phase('seed', `seeding ${services.length} data paths while ${plan.stack} runs on ${plan.source}${limited}`);
    seeding = seed();
    if (!sideBySide) await seeding;
  }
  const folderCopied = runs('stack-folder')
    ? phase('stack-folder', `copying ${plan.sourceStackDir} to ${plan.target}:${plan.targetStackDir} while ${plan.stack} runs`).then(copyStackFolder)
    : Promise.resolve();
  // Both end before either's failure is acted on: a rollback must not run beside a copy still writing.
  const [seeded, copied] = await Promise.allSettled([seeding, folderCopied]);
  if (seeded.status === 'rejected') {
    failedIn('seed');
    throw seeded.reason;
  }
  if (copied.status === 'rejected') throw copied.reason;

  const built = checked.builtToCarry ?? [];
  if (runs('images') && checked.imagesToCarry.length + built.length > 0) {
    const carried = [...checked.imagesToCarry, ...built.map((b) => b.image)];
    await phase('images', `carrying ${carried.join(', ')} to ${plan.target} while ${plan.stack} runs`);
    await carryImages(source.transport, target.transport, carried, throttle);
    // A build named by the source's compose flavour gets the name the target's compose looks for.
    for (const b of built) if (b.as !== b.image) await tagImage(target.transport, b.image, b.as);
    const unresolved = await missingImages(target.transport, [...checked.imagesToCarry, ...built.map((b) => b.as)]);
    if (unresolved.length > 0) throw new Error(`after docker load, ${plan.target} still does not resolve ${unresolved.join(', ')}: compose could not start the stack there`);
  }

  if (runs('stop')) {
    await phase('stop', `stopping ${plan.stack} on ${plan.source}`);
    if (plan.sourceConfigFiles) await stackActionAt(source, { project: plan.stack, workingDir: plan.sourceStackDir, configFiles: plan.sourceConfigFiles }, 'down', plan.profiles ?? []);
    else await stackAction(source, plan.stack, 'down', { profiles: plan.profiles ?? [] });
  }

  if (runs('final-sync')) {
    await phase('final-sync', `${plan.mode === 'cold' ? 'copying the data' : 'sending what changed since the seed'}${limited}`);
    // Older snapshots are pruned once the stack runs on the target: not inside the outage.
    const final = await transfer(plan.id, FINAL_SYNC_CONCURRENCY, true);
    await journal.record({ final });
    if (options.signal?.aborted) throw new MigrationCancelledError(entry.id, 'final-sync', 'during');
    const failed = final.results.filter((r) => !r.ok);
    if (failed.length > 0) throw new Error(`data transfer failed: ${failed.map((r) => `${r.service}: ${r.error?.message}`).join('; ')}`);
    await copyVolumes(journal, source, target, checked, options.onProgress);
  }

  if (runs('verify')) {
    await phase('verify', 'comparing the data on both hosts, before anything runs on it');
    // Every read ends before a difference is acted on: a rollback must not unmount a dataset still being read.
    const verified = await allEnded(plan.dataPaths.map((dataPath) => verifyDataPath(dataPath, source, target, entry.targetBefore, plan.target)));
    await journal.record({ verified });
    await journal.record({ volumesVerified: await verifyVolumes(plan, source, target, checked) });
  }

  if (runs('folder-sync')) {
    await phase('folder-sync', `bringing ${plan.target}:${plan.targetStackDir} up to date with ${plan.sourceStackDir} as it was stopped`);
    const synced = await syncStackFolder({
      source,
      target,
      sourceDir: plan.sourceStackDir,
      targetDir: plan.targetStackDir,
      files: plan.targetFiles ?? [],
      replan: async () => {
        const fresh = await planStackMigration(source, target, plan.stack, { id: plan.id, cold: plan.mode === 'cold', method: recorded.method });
        refuseChangedMoves(plan, fresh);
        return fresh.targetFiles ?? [];
      },
      writeFiles: (files) => writeFiles(plan.targetFiles ? files : undefined),
      ...(throttle ? { throttle } : {}),
    });
    // Verified: --remove-source deletes the source's folder only after this.
    await journal.record({ stackFolderVerified: synced.verified });
    const changed = [...synced.sent.map((p) => `sent ${p || '.'}`), ...synced.removed.map((p) => `removed ${p}`), ...(synced.replanned ? ['stack files planned again'] : [])];
    if (changed.length > 0) {
      options.onProgress?.({ type: 'transfer-step', service: '-', message: `the stack folder changed since its copy: ${changed.slice(0, 10).join(', ')}${changed.length > 10 ? ` and ${changed.length - 10} more` : ''}` });
    }
  }

  const sent = entry.final;
  if (!sent) throw new Error(`the journal of ${plan.id} has no final transfer recorded`);
  await phase('start', `starting ${plan.stack} on ${plan.target}`);
  const zfsResults = sent.results.filter((r) => r.ok && r.method === 'zfs');
  // Coming back onto a copy it left here: writable again, for the stack.
  const targetZfs = new ZfsHost(target.transport);
  await Promise.all(zfsResults.flatMap((result) => (result.targetDataset ? [targetZfs.undoLeftReadonly(result.targetDataset)] : [])));
  if (plan.composeFiles) {
    // The built images were carried before the stop: compose must not build (or pull a base image) inside the outage.
    const noBuild = (plan.builtImages ?? []).length > 0 ? ['--no-build'] : [];
    await stackActionAt(target, { project: plan.stack, workingDir: plan.targetStackDir, configFiles: plan.composeFiles.map((name) => `${plan.targetStackDir}/${name}`) }, 'up', plan.profiles ?? [], noBuild);
  } else {
    await stackAction(target, plan.stack, 'up', { profiles: plan.profiles ?? [] });
  }
  const health = await waitUntilRunning(target, plan.stack, plan.services, options.startTimeoutMs ?? 120_000, plan.oneShot ?? []);
  if (!health.ready) {
    throw new Error(`not every service came up on ${plan.target}: ${health.services.map((s) => `${s.service} ${s.state}${s.health ? `/${s.health}` : ''}`).join(', ')}`);
  }
  const runningAt = Date.now();
  if (await isDirectory(aside)) await removeFolderGuarded(target, plan.stack, aside);
  const [leftReadonly, final] = await Promise.all([
    leaveReadonly(source, zfsResults.flatMap((r) => (r.sourceDataset ? [r.sourceDataset] : [])), options.onProgress),
    pruneAfterStart(sent, zfs, options.onProgress),
  ]);
  await journal.record({ final });

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
    imagesCarried: [...checked.imagesToCarry, ...(checked.builtToCarry ?? []).map((b) => b.as)],
    downtimeSeconds: (runningAt - stoppedAt) / 1000,
    phases: phaseTimings(entry.phases, started, runningAt),
    bwlimit: recorded.bwlimit ?? null,
    totalSeconds: (Date.now() - started) / 1000,
    verified: entry.verified ?? [],
    volumes: entry.volumesVerified ?? [],
    stackFolder: entry.stackFolderVerified ?? null,
    resumedFrom: resumed ? from : null,
    removedFromSource: null,
    keptOnSource: null,
    leftReadonly,
    seededFromStandby: entry.seededFromStandby ?? [],
  };
}

/**
 * Our snapshots older than the final one, on both hosts, pruned once the
 * stack runs (the final one is the next move's common snapshot). A failure is
 * a warning in the report, as for a prune during a transfer.
 */
async function pruneAfterStart(final: TransferSummary, zfs: { source: ZfsHost; target: ZfsHost }, onProgress: ProgressListener | undefined): Promise<TransferSummary> {
  const results = await Promise.all(
    final.results.map(async (result) => {
      if (!result.ok || result.method !== 'zfs' || !result.sourceDataset || !result.targetDataset || !result.snapshot) return result;
      const step = (message: string) => onProgress?.({ type: 'transfer-step', service: result.service, message });
      try {
        const { pruneWarnings } = await pruneOlderThan(zfs.source, result.sourceDataset, zfs.target, result.targetDataset, result.snapshot, step);
        return pruneWarnings.length > 0 ? { ...result, pruneWarnings: [...result.pruneWarnings, ...pruneWarnings] } : result;
      } catch (error) {
        return { ...result, pruneWarnings: [...result.pruneWarnings, `older snapshots of ${result.sourceDataset} not pruned: ${describeError(error)}`] };
      }
    }),
  );
  return { ...final, results };
}

/** Every data path is sent at once in the final sync, up to this many: the outage then lasts as long as the largest difference, not their sum. */
export const FINAL_SYNC_CONCURRENCY = 3;

/**
 * ZFS data arrived as a checksummed stream whose snapshot guid matched: its
 * metadata is compared (cheap, so downtime does not grow with the data's
 * size); rsync copies are compared down to every file's hash.
 */
async function verifyDataPath(
  dataPath: MigrationPlan['dataPaths'][number],
  source: DockerHost,
  target: DockerHost,
  targetBefore: JournalEntry['targetBefore'],
  targetId: string,
): Promise<VerifiedPath> {
  const hashes = dataPath.method === 'rsync';
  const [before, firstLook] = await Promise.all([
    readManifest(source.transport, dataPath.sourcePath, { hashes }),
    readManifest(target.transport, dataPath.targetPath, { hashes }),
  ]);
  let after = firstLook;
  let differences = compareManifests(before, after);
  const dataset = targetBefore?.find((b) => b.targetPath === dataPath.targetPath)?.dataset;
  if (differences.length > 0 && dataPath.method === 'zfs' && dataset) {
    // zfs-fuse can serve a stale view of a dataset just received into: look again, freshly mounted.
    await new ZfsHost(target.transport).remount(dataset);
    after = await readManifest(target.transport, dataPath.targetPath, { hashes });
    differences = compareManifests(before, after);
  }
  if (differences.length > 0) throw new Error(`data of ${dataPath.service} differs on ${targetId}: ${describeDifferences(differences)}`);
  return { path: dataPath.targetPath, entries: after.entries.size, bytes: after.totalBytes };
}

/** A stack file changed after the plan; its new text may be used only if the data moved is still what the stack mounts. */
function refuseChangedMoves(plan: MigrationPlan, fresh: MigrationPlan): void {
  const moves = (p: MigrationPlan) => JSON.stringify({ data: p.dataPaths.map((d) => [d.sourcePath, d.targetPath, d.method]), notMoved: p.notMoved, dir: p.targetStackDir, services: p.services });
  if (moves(plan) !== moves(fresh)) {
    throw new MigrationRefusedError(
      `${plan.stack}'s stack files changed on ${plan.source} during the migration, and now mount other data than was moved: ` +
        `the stack is started again on ${plan.source}; migrate it again`,
    );
  }
}

/** Pure: each phase's time from the journal's start marks of the run that began at `since`; the last ends at `end`. */
export function phaseTimings(phases: JournalEntry['phases'], since: number, end: number): PhaseTiming[] {
  const marks = phases.filter((p) => p.state === 'started' && p.phase !== 'resume' && Date.parse(p.at) >= since);
  let stopped = false;
  return marks.map((mark, index) => {
    const from = Date.parse(mark.at);
    const to = index + 1 < marks.length ? Date.parse((marks[index + 1] as { at: string }).at) : end;
    stopped ||= mark.phase === 'stop';
    return { phase: mark.phase, seconds: (to - from) / 1000, inDowntime: stopped };
  });
}

/**
 * The copy the stack left on the source must not drift before a move back
 * (reading it changes atimes): readonly=on, marked as set by docker-mcp. A
 * failure here is reported, never undone: the stack runs on the target.
 */
async function leaveReadonly(source: DockerHost, datasets: readonly string[], onProgress: ProgressListener | undefined): Promise<string[]> {
  const zfs = new ZfsHost(source.transport);
  const outcomes = await Promise.all(
    datasets.map(async (dataset) => {
      try {
        return (await zfs.leaveReadonly(dataset)) ? `${source.host.id}:${dataset}` : null;
      } catch (error) {
        onProgress?.({ type: 'transfer-step', service: '-', message: `warning: could not set ${source.host.id}:${dataset} readonly: ${describeError(error)}` });
        return null;
      }
    }),
  );
  const done = outcomes.filter((named): named is string => named !== null);
  if (done.length > 0) onProgress?.({ type: 'transfer-step', service: '-', message: `left readonly on ${source.host.id}: ${done.join(', ')}` });
  return done;
}
