import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { dryRunStackMigration, migrateStack, type MigrationReport, type RunOptions } from '../../migration/execute.js';
import type { MigrationPlan } from '../../migration/plan.js';
import { resumeMigration, type ResumeOutcome } from '../../migration/resume.js';
import { settleStandbyAfterMove } from '../../standby/copies.js';
import { standbyStagingOf } from '../../standby/staging.js';
import { formatRate, parseBwlimit } from '../../transfer/bwlimit.js';
import { cancelMigrationOnSignals, type MigrationCancel } from '../cancel-on-signals.js';
import { cliContext, dockerHostOf } from '../context.js';
import { formatBytes, writtenAt } from '../format.js';
import { progressView } from '../progress-view.js';
import { emit, table } from '../output.js';

interface MigrateOptions {
  json?: boolean;
  dryRun?: boolean;
  cold?: boolean;
  method: string;
  route: string;
  compress: string;
  resume?: string;
  keepFailed?: boolean;
  removeSource?: boolean;
  yes?: boolean;
  force?: boolean;
  startTimeout: string;
  bwlimit?: string;
}

const METHODS = ['auto', 'zfs', 'rsync'] as const;
const ROUTES = ['auto', 'direct', 'relay'] as const;
const COMPRESSION = ['auto', 'on', 'off'] as const;

function oneOf<T extends string>(what: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidInputError(what, value, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('Move a stack with all of its data from one host to another: plan, seed, stop, sync, verify, start; rolled back on failure')
    .argument('[source]', 'host the stack runs on')
    .argument('[target]', 'host to move it to')
    .argument('[stack]', 'stack (compose project) name')
    .option('--dry-run', 'print the plan, step by step, and change nothing')
    .option('--cold', 'stop first, then copy everything (default: seed while running, stop, send the difference)')
    .option('--method <method>', 'auto (zfs when both hosts have it), zfs, or rsync', 'auto')
    .option('--route <route>', 'ZFS streams: auto, direct (source to target), or relay (through this machine)', 'auto')
    .option('--compress <when>', 'zstd on the wire: auto (not between loopback addresses), on, off', 'auto')
    .option('--keep-failed', 'on failure, keep the data received on the target (default: remove what this migration created there)')
    .option('--remove-source', "once the stack runs on the target, remove its folder and moved data on the source (needs --yes)")
    .option('--yes', 'confirm --remove-source')
    .option('--force', 'go past the pre-flight refusals that are safe to override; each refusal says what --force would do')
    .option('--bwlimit <rate>', 'limit every transfer to RATE bytes a second: 500K, 50M, 1G (K, M, G: powers of 1024); default no limit')
    .option('--start-timeout <seconds>', 'how long to wait on the target for every service to run before rolling back', '120')
    .option('--resume <id>', 'finish or roll back an interrupted migration (see "docker-mcp migrations list"); takes no other arguments')
    .option('--json', 'machine-readable output')
    .action(async (sourceId: string | undefined, targetId: string | undefined, stack: string | undefined, options: MigrateOptions, command: Command) => {
      // Checked before any host is reached: a bad rate changes nothing.
      const bwlimit = options.bwlimit === undefined ? undefined : parseBwlimit(options.bwlimit);
      const context = await cliContext(command);
      const seconds = Number(options.startTimeout);
      if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidInputError('start timeout', options.startTimeout, 'must be a number of seconds above 0');
      // Ctrl-C / SIGTERM cancel as the MCP cancel does: rolled back, key taken away, then the exit.
      const cancel = cancelMigrationOnSignals();
      const run = {
        startTimeoutMs: seconds * 1000,
        signal: cancel.signal,
        onJournal: cancel.named,
        onProgress: cancel.watching(options.json ? undefined : progressView()),
      };
      try {
        await runMigrate(context, sourceId, targetId, stack, options, bwlimit, run, cancel);
      } finally {
        cancel.dispose();
      }
    });
}

async function runMigrate(
  context: Awaited<ReturnType<typeof cliContext>>,
  sourceId: string | undefined,
  targetId: string | undefined,
  stack: string | undefined,
  options: MigrateOptions,
  bwlimit: number | undefined,
  run: RunOptions,
  cancel: MigrationCancel,
): Promise<void> {
  if (options.resume !== undefined) {
    if (sourceId !== undefined) throw new InvalidInputError('argument', sourceId, '--resume takes the migration id alone: its hosts, stack and options are in the journal');
    if (options.bwlimit !== undefined) throw new InvalidInputError('bwlimit', options.bwlimit, 'is not taken with --resume: a resumed migration keeps the limit it was started with');
    cancel.named(options.resume);
    const outcome = await resumeMigration(options.resume, (hostId) => dockerHostOf(context, hostId), run);
    // A resumed move onto the standby ends its declaration as a first run does.
    const standbyNote = await settleStandbyAfterMove(context.config, outcome.report.source, dockerHostOf(context, outcome.report.target), outcome.report.stack);
    emit({ ...outcome, ...(standbyNote ? { standbyNote } : {}) }, options, (o) => `${renderResume(o)}${standbyNote ? `\nnote: ${standbyNote}\n` : ''}`);
    return;
  }
  if (sourceId === undefined || targetId === undefined || stack === undefined) {
    throw new InvalidInputError('arguments', [sourceId, targetId, stack].filter(Boolean).join(' '), 'migrate needs SOURCE TARGET STACK, or --resume ID');
  }
  const source = dockerHostOf(context, sourceId);
  const target = dockerHostOf(context, targetId);
  const method = oneOf('method', options.method, METHODS);
  const route = oneOf('route', options.route, ROUTES);
  const compress = oneOf('compress', options.compress, COMPRESSION);
  if (options.dryRun) {
    // Nothing to roll back: Ctrl-C stops a dry run at once.
    cancel.dispose();
    const plan = await dryRunStackMigration(source, target, stack, { cold: options.cold ?? false, method });
    emit(plan, options, renderPlan);
    return;
  }
  const report = await migrateStack(source, target, stack, {
    cold: options.cold ?? false,
    method,
    route,
    compress,
    keepFailed: options.keepFailed ?? false,
    removeSource: options.removeSource ?? false,
    yes: options.yes ?? false,
    force: options.force ?? false,
    ...(bwlimit === undefined ? {} : { bwlimit }),
    standbyStagingOf: standbyStagingOf(context.config, sourceId, target.host),
    ...run,
  });
  const standbyNote = await settleStandbyAfterMove(context.config, sourceId, target, report.stack);
  emit({ ...report, ...(standbyNote ? { standbyNote } : {}) }, options, (r) => `${renderReport(r)}${standbyNote ? `\nnote: ${standbyNote}\n` : ''}`);
}


/** The refusals the hosts' checks found: the plan's own (mounts that stay, services outside the config) are shown above with what they name. */
function hostRefusals(plan: MigrationPlan): string[] {
  const outsideConfig = plan.servicesOutsideConfig ?? [];
  return (plan.refusals ?? []).filter((r) => !r.forceApplies && !outsideConfig.some((s) => r.reason.startsWith(`${s} runs on`))).map((r) => r.reason);
}

function renderPlan(plan: MigrationPlan): string {
  return [
    `plan ${plan.id}: ${plan.stack} from ${plan.source} to ${plan.target} (${plan.mode}) — dry run, nothing was changed`,
    '',
    table(['DATA PATH', 'TO', 'METHOD', 'USED BY'], plan.dataPaths.map((d) => [d.sourcePath, d.targetPath, d.appFolderOf ? `${d.method} (app folder, one dataset: ${d.appFolderOf.join(', ')})` : d.method, d.usedBy.join(', ')])),
    ...(plan.mounts && plan.mounts.length > 0
      ? ['', table(['SERVICE', 'MOUNT SOURCE (AS COMPOSE RESOLVES IT)', 'AT', 'WRITTEN AT'], plan.mounts.map((m) => [m.service, m.source, m.target, writtenAt(m.writtenAt)]))]
      : []),
    ...(plan.volumes && plan.volumes.length > 0
      ? ['', table(['NAMED VOLUME', 'HANDLING', 'USED BY', 'NOTE'], plan.volumes.map((v) => [v.name, v.handling, v.usedBy.join(', '), v.note]))]
      : []),
    ...((plan.builtImages ?? []).length > 0
      ? ['', `built by compose on ${plan.source}, carried before the stop (${plan.target} never builds): ${(plan.builtImages ?? []).map((b) => `${b.image} (${b.service})`).join(', ')}`]
      : []),
    ...(plan.profiles && plan.profiles.length > 0 ? ['', `profiles (as it runs on ${plan.source}): ${plan.profiles.join(', ')}`] : []),
    ...(plan.servicesOutsideConfig && plan.servicesOutsideConfig.length > 0
      ? ['', `running but not in compose's config without --profile (the migration will refuse): ${plan.servicesOutsideConfig.join(', ')}`]
      : []),
    ...((plan.hostProvided ?? []).length > 0
      ? ['', `provided by the host, not moved (pre-flight checks that ${plan.target} has each as ${plan.source} does):`, ...(plan.hostProvided ?? []).map((h) => `  ${h.service}: ${h.source} — ${h.what}${h.readOnly ? ' (read-only)' : ''}`)]
      : []),
    ...(plan.notMoved.length > 0 ? ['', 'not moved (the migration will refuse):', ...plan.notMoved.map((m) => `  ${m.service}: ${m.source} — ${m.reason}`)] : []),
    ...hostRefusals(plan).flatMap((reason) => ['', `pre-flight on the hosts now would refuse: ${reason}`]),
    '',
    'changes to the stack files (where each path is written):',
    ...(plan.composeChanges.length > 0 ? plan.composeChanges.map((c) => `  ${c}`) : ['  none']),
    '',
    'steps:',
    ...plan.steps.map((step, index) => `  ${index + 1}. [${step.phase} on ${step.host}] ${step.description}`),
  ].join('\n');
}

export function renderReport(report: MigrationReport): string {
  return [
    `migrated ${report.stack} from ${report.source} to ${report.target} (${report.mode}) in ${report.totalSeconds.toFixed(1)} s; downtime ${report.downtimeSeconds.toFixed(1)} s` +
      (report.bwlimit ? `; transfers limited to ${formatRate(report.bwlimit)}` : ''),
    ...((report.phases ?? []).length > 0 ? [`phases: ${phaseLine(report)}`] : []),
    table(
      ['DATA PATH', 'METHOD', 'ROUTE', 'SEED', 'FINAL', 'BYTES', 'SECONDS'],
      report.final.results.map((r) => {
        const seed = report.seed?.results.find((s) => s.service === r.service);
        return [r.targetPath, r.method, r.route ?? '-', seed ? (seed.ok ? (seed.mode ?? '-') : 'deferred') : '-', r.mode ?? '-', formatBytes(r.bytes + (seed?.bytes ?? 0)), (r.seconds + (seed?.seconds ?? 0)).toFixed(1)];
      }),
    ),
    ...relayReasons(report),
    ...((report.volumes ?? []).length > 0
      ? [`copied and verified named volumes (checksum manifests): ${(report.volumes ?? []).map((v) => `${v.volume} (${v.entries} entries, ${formatBytes(v.bytes)})`).join(', ')}`]
      : []),
    `${verifiedLine(report)}${report.imagesCarried.length > 0 ? `; carried images ${report.imagesCarried.join(', ')}` : ''}`,
    ...((report.preflight.hostProvided ?? []).length > 0 ? [`provided by the host, not moved: ${(report.preflight.hostProvided ?? []).join('; ')}`] : []),
    ...(report.preflight.forcedNotMoved.length > 0 ? [`not moved (--force): ${report.preflight.forcedNotMoved.join('; ')}`] : []),
    ...(report.removedFromSource ? [`removed from ${report.source}: ${report.removedFromSource.join(', ') || 'nothing was left'}`] : []),
    ...(report.keptOnSource && report.keptOnSource.length > 0 ? [`kept on ${report.source}: ${report.keptOnSource.join('; ')}`] : []),
    ...((report.leftReadonly ?? []).length > 0 ? [`left readonly on ${report.source} (undone when the stack moves back): ${report.leftReadonly.join(', ')}`] : []),
    ...[...(report.seed?.results ?? []), ...report.final.results].flatMap((r) => r.pruneWarnings ?? []).map((warning) => `warning: ${warning}`),
  ].join('\n');
}

/** What was verified: the data paths, and the stack folder (with whatever data lives in it). */
function verifiedLine(report: MigrationReport): string {
  const folder = report.stackFolder ? `the stack folder ${report.stackFolder.path} (${report.stackFolder.entries} entries, ${formatBytes(report.stackFolder.bytes)}, with the data inside it)` : null;
  const paths = report.verified.length > 0 ? `${report.verified.length} data paths (${report.verified.map((v) => `${v.path}: ${v.entries} entries`).join(', ')})` : null;
  return `verified ${[paths, folder].filter(Boolean).join(' and ') || 'nothing (no data paths)'}`;
}

/** "preflight 0.3 s, seed 1.2 s, ... | stop 0.4 s, ...": the bar is where the outage begins. */
function phaseLine(report: MigrationReport): string {
  const phases = report.phases ?? [];
  const running = phases.filter((p) => !p.inDowntime).map((p) => `${p.phase} ${p.seconds.toFixed(1)} s`);
  const down = phases.filter((p) => p.inDowntime).map((p) => `${p.phase} ${p.seconds.toFixed(1)} s`);
  return [running.join(', '), down.length > 0 ? `downtime: ${down.join(', ')}` : ''].filter(Boolean).join(' | ');
}

function relayReasons(report: MigrationReport): string[] {
  const reasons = new Set([report.seed?.relayReason, report.final.relayReason].filter((reason): reason is string => Boolean(reason)));
  return [...reasons].map((reason) => `relayed: ${reason}`);
}

function renderResume(outcome: ResumeOutcome): string {
  return [`resumed ${outcome.id} (interrupted at ${outcome.interruptedAt ?? 'the start'}): ${outcome.decision}`, renderReport(outcome.report)].join('\n');
}
