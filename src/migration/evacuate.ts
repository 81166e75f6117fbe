/**
 * Evacuate a live host: every stack that runs on it moves elsewhere. First
 * the checks, each stack against each candidate, through the migration's
 * own plan and pre-flight (they only read: free space, what the target
 * holds, images, ports, ZFS); evacuate-plan.ts places the stacks from what
 * they found. Nothing moves until the whole plan is known, so a stack that
 * fits nowhere is named before any other moves. Then the stacks that fit
 * are migrated, a bounded number at a time (migrate-many.ts), each as
 * `migrate` would: its own journal, lock and rollback.
 */
import pLimit from 'p-limit';
import { enabledHosts, findHost, type LoadedConfig } from '../config/load.js';
import type { DockerHost } from '../docker/docker-host.js';
import { knownStacks, type KnownStack } from '../docker/stacks.js';
import { DockerMcpError, describeError, InvalidInputError } from '../errors.js';
import { settleStandbyAfterMove } from '../standby/copies.js';
import { loadStandbyFile, type StandbyDeclaration } from '../standby/declarations.js';
import type { HostOf } from '../standby/manage.js';
import { standbyStagingOf } from '../standby/staging.js';
import type { ProgressListener } from '../transfer/progress.js';
import { EvacuationIncompleteError } from './errors.js';
import { describeLeftBehind, planEvacuation, type CandidateCheck, type EvacuationPlan, type Skipped, type StackChecks } from './evacuate-plan.js';
import { checkStackMigration, type MigrationReport } from './execute.js';
import { DEFAULT_CONCURRENCY, migrateMoves } from './migrate-many.js';
import { MAX_CONCURRENT_MIGRATIONS } from './migration-slots.js';

export interface EvacuationRequest {
  readonly host: string;
  /** The hosts the stacks may go to (default: every other enabled host). */
  readonly to?: readonly string[];
  /** Where the journals live (default: the state directory's). */
  readonly journalDir?: string;
}

export interface EvacuationRun {
  /** Migrations at once (default 2, at most the process's migration slots). */
  readonly concurrency?: number;
  readonly startTimeoutMs?: number;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  readonly onJournal?: (migrationId: string) => void;
}

export interface EvacuationReport {
  readonly host: string;
  readonly plan: EvacuationPlan;
  readonly moved: readonly { readonly stack: string; readonly to: string; readonly report: MigrationReport; readonly standbyNote: string | null }[];
  /** Placed by the plan, but its migration failed (and was rolled back, or says what is left). */
  readonly failed: readonly { readonly stack: string; readonly to: string; readonly error: string }[];
  /** Every stack that ran on the host runs elsewhere now. */
  readonly complete: boolean;
}

/** Checks, from this host, to run at once (each a handful of SSH round trips). */
const CHECK_CONCURRENCY = 4;

/** Check every running stack of the host against every candidate, and place them. Changes nothing. */
export async function planHostEvacuation(config: LoadedConfig, hostOf: HostOf, request: EvacuationRequest): Promise<EvacuationPlan> {
  const sourceConfig = findHost(config, request.host);
  const candidates = candidateHosts(config, request);
  const source = await hostOf(sourceConfig.id);
  const { standbys } = await loadStandbyFile(config.location.path);
  const declared = new Map(standbys.filter((d) => d.host === sourceConfig.id).map((d) => [d.stack, d]));
  const { moving, skipped } = sortStacks(await knownStacks(source), declared);
  const limit = pLimit(CHECK_CONCURRENCY);
  const checks = await Promise.all(
    moving.map(async ({ stack, unmovable }): Promise<StackChecks> => {
      if (unmovable !== null) return { stack, unmovable, ports: [], candidates: [] };
      const standby = declared.get(stack)?.to;
      // The standby is tried for its own stack even when --to does not name it: that is what it is kept for.
      const hosts = standby !== undefined && !candidates.includes(standby) && config.hosts.some((h) => h.id === standby && h.enabled) ? [standby, ...candidates] : candidates;
      const found = await Promise.all(hosts.map((to) => limit(() => checkCandidate(source, hostOf, stack, to, to === standby, request.journalDir))));
      return { stack, unmovable: null, ports: found.find((f) => f.ports.length > 0)?.ports ?? [], candidates: found.map((f) => f.check) };
    }),
  );
  return planEvacuation(sourceConfig.id, candidates, sourceConfig.zfs_capable, checks, skipped);
}

/** Migrate the stacks the plan placed; the report names what moved, what failed, and what was left behind. */
export async function runEvacuation(config: LoadedConfig, hostOf: HostOf, plan: EvacuationPlan, request: EvacuationRequest, run: EvacuationRun = {}): Promise<EvacuationReport> {
  const concurrency = run.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENT_MIGRATIONS) {
    throw new InvalidInputError('concurrency', String(concurrency), `must be a whole number from 1 to ${MAX_CONCURRENT_MIGRATIONS}`);
  }
  const source = await hostOf(plan.host);
  const targets = new Map<string, DockerHost>();
  for (const move of plan.moves) if (!targets.has(move.to)) targets.set(move.to, await hostOf(move.to));
  const target = (id: string) => targets.get(id) as DockerHost;
  const results = await migrateMoves(
    source,
    plan.moves.map((move) => ({
      stack: move.stack,
      target: target(move.to),
      // On its standby by rsync, the staged copy is cloned into place first (a ZFS standby's snapshots are found by the send itself).
      options: { standbyStagingOf: standbyStagingOf(config, plan.host, target(move.to).host) },
    })),
    {
      concurrency,
      ...(request.journalDir !== undefined ? { journalDir: request.journalDir } : {}),
      ...(run.startTimeoutMs !== undefined ? { startTimeoutMs: run.startTimeoutMs } : {}),
      ...(run.onProgress ? { onProgress: run.onProgress } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
      ...(run.onJournal ? { onJournal: run.onJournal } : {}),
    },
  );
  const moved: EvacuationReport['moved'][number][] = [];
  const failed: EvacuationReport['failed'][number][] = [];
  for (const [index, result] of results.entries()) {
    const move = plan.moves[index];
    if (!move) continue;
    if (!result.ok) {
      failed.push({ stack: move.stack, to: move.to, error: result.error.message });
      continue;
    }
    // A move onto the stack's standby ends its declaration, as `migrate` does.
    const standbyNote = await settleStandbyAfterMove(config, plan.host, target(move.to), result.report.stack).catch((error: unknown) => `standby.yml not updated: ${describeError(error)}`);
    moved.push({ stack: move.stack, to: move.to, report: result.report, standbyNote });
  }
  return { host: plan.host, plan, moved, failed, complete: failed.length === 0 && plan.leftBehind.length === 0 };
}

/** The typed error a caller throws (after showing the report) when stacks stayed on the host. */
export function incompleteEvacuation(report: EvacuationReport): EvacuationIncompleteError | null {
  if (report.complete) return null;
  const left = [
    ...report.plan.leftBehind.map(describeLeftBehind),
    ...report.failed.map((f) => `${f.stack}: its migration to ${f.to} failed: ${f.error}`),
  ];
  return new EvacuationIncompleteError(report.host, report.moved.length, left);
}

function candidateHosts(config: LoadedConfig, request: EvacuationRequest): string[] {
  if (request.to !== undefined && request.to.length > 0) {
    const named = [...new Set(request.to)];
    if (named.includes(request.host)) throw new InvalidInputError('--to', request.host, 'is the host being evacuated');
    return named.map((id) => findHost(config, id).id);
  }
  const others = enabledHosts(config).filter((h) => h.id !== request.host).map((h) => h.id);
  if (others.length === 0) throw new InvalidInputError('host', request.host, 'is the only enabled host in hosts.yml: there is nowhere to evacuate it to');
  return others;
}

/**
 * The stacks to move (those running on the host; one whose compose files
 * docker-mcp cannot read, from outside compose_path, is unmovable) and those
 * left alone: stopped (a migration would start it on the target), or failed
 * over to its standby already (its copy here is fenced).
 */
function sortStacks(stacks: readonly KnownStack[], declared: ReadonlyMap<string, StandbyDeclaration>): { moving: { stack: string; unmovable: string | null }[]; skipped: Skipped[] } {
  const moving: { stack: string; unmovable: string | null }[] = [];
  const skipped: Skipped[] = [];
  for (const { summary, location } of stacks) {
    const failedOver = declared.get(summary.name)?.failedOver;
    if (failedOver) {
      skipped.push({ stack: summary.name, reason: `failed over to ${declared.get(summary.name)?.to} at ${failedOver.at}: what is here is its fenced copy (a failback brings it back)` });
    } else if (summary.running === 0) {
      skipped.push({ stack: summary.name, reason: 'nothing of it runs here: its folder and data stay (docker-mcp migrate moves it, and starts it on the target)' });
    } else if (location === null) {
      moving.push({
        stack: summary.name,
        unmovable: `it runs here but not from a folder under compose_path (${summary.labelsIgnored ?? 'its compose files are not known'}): docker-mcp cannot read or move it`,
      });
    } else {
      moving.push({ stack: summary.name, unmovable: null });
    }
  }
  return { moving, skipped };
}

async function checkCandidate(
  source: DockerHost,
  hostOf: HostOf,
  stack: string,
  to: string,
  standby: boolean,
  journalDir: string | undefined,
): Promise<{ check: CandidateCheck; ports: string[] }> {
  const refused = (reason: string): { check: CandidateCheck; ports: string[] } => ({
    check: { host: to, refused: reason, method: 'none', dataBytes: 0, freeBytes: null, standby },
    ports: [],
  });
  try {
    const { plan, preflight } = await checkStackMigration(source, await hostOf(to), stack, journalDir !== undefined ? { journalDir } : {});
    const ports = [...new Set((plan.ports ?? []).map((p) => `${p.published}/${p.protocol}`))];
    const methods = new Set(plan.dataPaths.map((d) => d.method));
    const method = methods.size === 0 ? 'none' : methods.has('rsync') ? 'rsync' : 'zfs';
    // An evacuation does not --force: a mount that would stay behind keeps the stack here.
    const refusals = (plan.refusals ?? []).map((r) => r.reason);
    if (refusals.length > 0 || preflight === null) return { check: { ...refused(refusals.join('; ') || 'pre-flight refused').check, method }, ports };
    return { check: { host: to, refused: null, method, dataBytes: preflight.dataBytes, freeBytes: preflight.targetFreeBytes, standby }, ports };
  } catch (error) {
    // A candidate that cannot be reached or read is a reason, like any other; the source's own failures are the same on every candidate.
    if (error instanceof DockerMcpError) return refused(error.message);
    throw error;
  }
}
