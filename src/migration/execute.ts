/**
 * Walk a migration plan: pre-flight, seed while the stack runs, stop, send
 * the rest, verify the data (while nothing runs on either copy), move the
 * stack folder with the rewritten compose file, carry missing images, start
 * on the target and wait until every service runs. Any failure after the
 * stop rolls back: the target's stack is taken down and the source's started
 * again, its data untouched.
 */
import { command } from '../ssh/quote.js';
import type { DockerHost } from '../docker/docker-host.js';
import { deployStack, stackAction, stackComposeFile } from '../docker/stacks.js';
import { describeError } from '../errors.js';
import { compareManifests, describeDifferences, readManifest } from '../transfer/manifest.js';
import type { ProgressListener } from '../transfer/progress.js';
import { transferServices, type TransferSummary } from '../transfer/transfer-services.js';
import { MigrationFailedError, MigrationRefusedError } from './errors.js';
import { lastMovedAway, MigrationJournal } from './journal.js';
import { planMigration, type MigrationPlan } from './plan.js';
import { preflight, type PreflightResult } from './preflight.js';
import { carryImages, copyFolder } from './stream-copy.js';
import { waitUntilRunning } from './wait-running.js';

export interface MigrationOptions {
  readonly cold?: boolean;
  readonly method?: 'auto' | 'zfs' | 'rsync';
  readonly route?: 'auto' | 'direct' | 'relay';
  readonly compress?: 'auto' | 'on' | 'off';
  readonly startTimeoutMs?: number;
  readonly onProgress?: ProgressListener;
  /** Override the generated id (tests). */
  readonly id?: string;
  /** Where the journal lives (default: ~/.local/state/docker-mcp/migrations). */
  readonly journalDir?: string;
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
  readonly verified: readonly { readonly path: string; readonly entries: number; readonly bytes: number }[];
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
  const plan = await planStackMigration(source, target, stack, options);
  const movingBack = await lastMovedAway(plan.stack, plan.target, plan.source, options.journalDir);
  const journal = await MigrationJournal.begin(plan, options.journalDir);
  // Each phase is journalled before its side effects.
  const phase = async (name: string, message: string) => {
    await journal.phase(name, 'started', message);
    options.onProgress?.({ type: 'migration-phase', phase: name, message });
  };
  try {
    const report = await runPlan(plan, journal, phase, source, target, { ...options, movingBack }, started);
    await journal.finish('succeeded', `downtime ${report.downtimeSeconds.toFixed(1)} s`);
    return report;
  } catch (error) {
    await journal.finish(error instanceof MigrationRefusedError ? 'refused' : 'failed', describeError(error));
    throw error;
  }
}

async function runPlan(
  plan: MigrationPlan,
  journal: MigrationJournal,
  phase: (name: string, message: string) => Promise<void>,
  source: DockerHost,
  target: DockerHost,
  options: MigrationOptions & { readonly movingBack: boolean },
  started: number,
): Promise<MigrationReport> {
  await phase('preflight', `checking ${plan.target} for ${plan.stack}${options.movingBack ? ' (moving back: the stale copy there is replaced)' : ''}`);
  const checked = await preflight(plan, source, target, { movingBack: options.movingBack });
  const services = plan.dataPaths.map(({ service, sourcePath, targetPath }) => ({ service, sourcePath, targetPath }));
  const transfer = (tag: string, only = services) =>
    transferServices({
      source,
      target,
      services: only,
      snapshotTag: tag,
      method: options.method ?? 'auto',
      route: options.route ?? 'auto',
      compress: options.compress ?? 'auto',
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });

  let seed: TransferSummary | null = null;
  if (plan.mode === 'low-downtime' && services.length > 0) {
    await phase('seed', `seeding ${services.length} data paths while ${plan.stack} runs on ${plan.source}`);
    seed = await transfer(`${plan.id}-seed`);
    // A plain directory in use cannot become a dataset yet: it goes in full after the stop.
    const blocking = seed.results.filter((r) => !r.ok && r.error?.name !== 'ServicePathInUseError');
    if (blocking.length > 0) {
      throw new MigrationFailedError(
        `seeding failed before anything was stopped: ${blocking.map((r) => `${r.service}: ${r.error?.message}`).join('; ')}`,
        [],
      );
    }
  }

  await phase('stop', `stopping ${plan.stack} on ${plan.source}`);
  const stoppedAt = Date.now();
  await stackAction(source, plan.stack, 'down');
  const undo: (() => Promise<string>)[] = [
    async () => {
      await stackAction(source, plan.stack, 'up');
      return `${plan.stack} started again on ${plan.source}`;
    },
  ];
  try {
    await phase('final-sync', plan.mode === 'cold' ? 'copying the data' : 'sending what changed since the seed');
    const final = await transfer(plan.id);
    const failed = final.results.filter((r) => !r.ok);
    if (failed.length > 0) throw new Error(`data transfer failed: ${failed.map((r) => `${r.service}: ${r.error?.message}`).join('; ')}`);
    undo.unshift(async () => {
      const removed: string[] = [];
      for (const result of final.results) {
        // rsync copies into paths that pre-flight found empty: ours to remove. ZFS datasets stay (ours, and they make a retry incremental).
        if (result.method === 'rsync') {
          await target.transport.exec(command(['rm', '-rf', '--', result.targetPath]));
          removed.push(result.targetPath);
        }
      }
      return removed.length > 0 ? `removed the copies ${removed.join(', ')} on ${plan.target}` : `kept the received datasets on ${plan.target}`;
    });

    await phase('verify', 'comparing the data on both hosts, before anything runs on it');
    const verified = [];
    for (const dataPath of plan.dataPaths) {
      // ZFS data arrived as a checksummed stream whose snapshot guid matched:
      // its metadata is compared (cheap, so downtime does not grow with the
      // data's size); rsync copies are compared down to every file's hash.
      const hashes = dataPath.method === 'rsync';
      const [before, after] = await Promise.all([
        readManifest(source.transport, dataPath.sourcePath, { hashes }),
        readManifest(target.transport, dataPath.targetPath, { hashes }),
      ]);
      const differences = compareManifests(before, after);
      if (differences.length > 0) throw new Error(`data of ${dataPath.service} differs on ${plan.target}: ${describeDifferences(differences)}`);
      verified.push({ path: dataPath.targetPath, entries: after.entries.size, bytes: after.totalBytes });
    }
    await phase('stack-folder', `copying ${plan.sourceStackDir} to ${plan.target}:${plan.targetStackDir}`);
    // Moving back, the old folder is kept aside until the stack runs, and put back on rollback.
    const aside = `${plan.targetStackDir}.docker-mcp-${plan.id}`;
    const hadFolder = options.movingBack && (await target.transport.exec(command(['test', '-d', plan.targetStackDir]), { okExitCodes: [0, 1] })).exitCode === 0;
    if (hadFolder) await target.transport.exec(command(['mv', '-T', '--', plan.targetStackDir, aside]));
    undo.unshift(async () => {
      await target.transport.exec(command(['rm', '-rf', '--', plan.targetStackDir]));
      if (hadFolder) {
        await target.transport.exec(command(['mv', '-T', '--', aside, plan.targetStackDir]));
        return `put the earlier ${plan.target}:${plan.targetStackDir} back`;
      }
      return `removed ${plan.target}:${plan.targetStackDir}`;
    });
    await copyFolder(source.transport, plan.sourceStackDir, target.transport, plan.targetStackDir);
    await deployStack(target, plan.stack, plan.targetComposeText, { start: false });

    if (checked.imagesToCarry.length > 0) {
      await phase('images', `carrying ${checked.imagesToCarry.join(', ')} to ${plan.target}`);
      await carryImages(source.transport, target.transport, checked.imagesToCarry);
    }

    await phase('start', `starting ${plan.stack} on ${plan.target}`);
    undo.unshift(async () => {
      await stackAction(target, plan.stack, 'down');
      return `${plan.stack} taken down on ${plan.target}`;
    });
    await stackAction(target, plan.stack, 'up');
    const health = await waitUntilRunning(target, plan.stack, plan.services, options.startTimeoutMs ?? 120_000);
    if (!health.ready) {
      throw new Error(`not every service came up on ${plan.target}: ${health.services.map((s) => `${s.service} ${s.state}${s.health ? `/${s.health}` : ''}`).join(', ')}`);
    }
    const runningAt = Date.now();
    if (hadFolder) await target.transport.exec(command(['rm', '-rf', '--', aside]));

    return {
      id: plan.id,
      stack: plan.stack,
      source: plan.source,
      target: plan.target,
      mode: plan.mode,
      preflight: checked,
      seed,
      final,
      imagesCarried: checked.imagesToCarry,
      downtimeSeconds: (runningAt - stoppedAt) / 1000,
      totalSeconds: (Date.now() - started) / 1000,
      verified,
    };
  } catch (error) {
    await journal.phase('rollback', 'started', describeError(error));
    options.onProgress?.({ type: 'migration-phase', phase: 'rollback', message: `rolling back: ${describeError(error)}` });
    const done: string[] = [];
    for (const step of undo) {
      try {
        done.push(await step());
      } catch (undoError) {
        done.push(`FAILED to undo (${describeError(undoError)})`);
      }
    }
    await journal.phase('rollback', 'done', done.join('; '));
    throw new MigrationFailedError(`migration ${plan.id} failed: ${describeError(error)}`, done, { cause: error });
  }
}
