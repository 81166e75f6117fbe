import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { migrateStack, planStackMigration, type MigrationReport } from '../../migration/execute.js';
import type { MigrationPlan } from '../../migration/plan.js';
import type { ProgressEvent } from '../../transfer/progress.js';
import { cliContext, dockerHostOf } from '../context.js';
import { formatBytes } from '../format.js';
import { emit, table } from '../output.js';

interface MigrateOptions {
  json?: boolean;
  dryRun?: boolean;
  cold?: boolean;
  method: string;
  route: string;
  compress: string;
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
    .description('Move a stack with all of its data from one host to another: plan, seed, stop, sync, start, verify; rolled back on failure')
    .argument('<source>', 'host the stack runs on')
    .argument('<target>', 'host to move it to')
    .argument('<stack>', 'stack (compose project) name')
    .option('--dry-run', 'print the plan, step by step, and change nothing')
    .option('--cold', 'stop first, then copy everything (default: seed while running, stop, send the difference)')
    .option('--method <method>', 'auto (zfs when both hosts have it), zfs, or rsync', 'auto')
    .option('--route <route>', 'ZFS streams: auto, direct (source to target), or relay (through this machine)', 'auto')
    .option('--compress <when>', 'zstd on the wire: auto (not between loopback addresses), on, off', 'auto')
    .option('--json', 'machine-readable output')
    .action(async (sourceId: string, targetId: string, stack: string, options: MigrateOptions, command: Command) => {
      const context = await cliContext(command);
      const source = dockerHostOf(context, sourceId);
      const target = dockerHostOf(context, targetId);
      const method = oneOf('method', options.method, METHODS);
      const route = oneOf('route', options.route, ROUTES);
      const compress = oneOf('compress', options.compress, COMPRESSION);
      if (options.dryRun) {
        const plan = await planStackMigration(source, target, stack, { cold: options.cold ?? false, method });
        emit(plan, options, renderPlan);
        return;
      }
      const report = await migrateStack(source, target, stack, {
        cold: options.cold ?? false,
        method,
        route,
        compress,
        ...(options.json ? {} : { onProgress: renderProgress }),
      });
      emit(report, options, renderReport);
    });
}

export function renderProgress(event: ProgressEvent): void {
  if (event.type === 'migration-phase') process.stderr.write(`==> ${event.phase}: ${event.message}\n`);
  else if (event.type === 'transfer-step') process.stderr.write(`    ${event.service}: ${event.message}\n`);
  else if (event.bytesTotal !== null && event.etaSeconds !== null) {
    process.stderr.write(`    ${event.service}: ${formatBytes(event.bytesDone)} of ${formatBytes(event.bytesTotal)}, ${formatBytes(event.bytesPerSecond)}/s, ETA ${event.etaSeconds.toFixed(0)} s\n`);
  } else {
    process.stderr.write(`    ${event.service}: ${formatBytes(event.bytesDone)}, ${formatBytes(event.bytesPerSecond)}/s\n`);
  }
}

function renderPlan(plan: MigrationPlan): string {
  return [
    `plan ${plan.id}: ${plan.stack} from ${plan.source} to ${plan.target} (${plan.mode}) — dry run, nothing was changed`,
    '',
    table(['DATA PATH', 'TO', 'METHOD', 'USED BY'], plan.dataPaths.map((d) => [d.sourcePath, d.targetPath, d.method, d.usedBy.join(', ')])),
    ...(plan.notMoved.length > 0 ? ['', 'not moved (the migration will refuse):', ...plan.notMoved.map((m) => `  ${m.service}: ${m.source} — ${m.reason}`)] : []),
    '',
    'compose file changes:',
    ...(plan.composeChanges.length > 0 ? plan.composeChanges.map((c) => `  ${c}`) : ['  none']),
    '',
    'steps:',
    ...plan.steps.map((step, index) => `  ${index + 1}. [${step.phase} on ${step.host}] ${step.description}`),
  ].join('\n');
}

export function renderReport(report: MigrationReport): string {
  return [
    `migrated ${report.stack} from ${report.source} to ${report.target} (${report.mode}) in ${report.totalSeconds.toFixed(1)} s; downtime ${report.downtimeSeconds.toFixed(1)} s`,
    table(
      ['DATA PATH', 'METHOD', 'ROUTE', 'SEED', 'FINAL', 'BYTES', 'SECONDS'],
      report.final.results.map((r) => {
        const seed = report.seed?.results.find((s) => s.service === r.service);
        return [r.targetPath, r.method, r.route ?? '-', seed ? (seed.ok ? (seed.mode ?? '-') : 'deferred') : '-', r.mode ?? '-', formatBytes(r.bytes + (seed?.bytes ?? 0)), (r.seconds + (seed?.seconds ?? 0)).toFixed(1)];
      }),
    ),
    `verified ${report.verified.length} data paths (${report.verified.map((v) => `${v.entries} entries`).join(', ')})${report.imagesCarried.length > 0 ? `; carried images ${report.imagesCarried.join(', ')}` : ''}`,
  ].join('\n');
}
