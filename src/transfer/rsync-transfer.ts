/**
 * The fallback when either side has no ZFS (or a path is not on ZFS): rsync
 * run on the source host, pushing to the target over SSH (see
 * source-to-target-ssh.ts for what the source host needs).
 */
import { command } from '../ssh/quote.js';
import { rsyncPathOnTarget, rsyncRemoteShell, targetAddressFromSource, type RouteGate, type TargetFromSource, type ThroughTunnel } from './source-to-target-ssh.js';
import type { SshTransport } from '../ssh/transport.js';
import { formatRate } from './bwlimit.js';
import { meterFromProgressLines, ProgressMeter, type ProgressListener } from './progress.js';

export interface RsyncServiceTransfer {
  readonly service: string;
  readonly source: SshTransport;
  readonly sourcePath: string;
  readonly target: SshTransport;
  readonly targetHost: TargetFromSource;
  readonly targetPath: string;
  /** When the source cannot reach the target by itself: the reverse tunnel through this machine. */
  readonly tunnel?: ThroughTunnel;
  /** Bytes a second (--bwlimit); rsync keeps to it in whole KiB. */
  readonly bwlimit?: number;
  /** Ends the rsync (a cancelled migration). */
  readonly signal?: AbortSignal;
  readonly onProgress?: ProgressListener;
}

export interface RsyncTransferOutcome {
  readonly bytes: number;
  readonly totalBytes: number | null;
}

export function rsyncArguments(
  sourcePath: string,
  target: TargetFromSource,
  targetPath: string,
  tunnel?: ThroughTunnel,
  bwlimit?: number,
  remoteShell = rsyncRemoteShell(target, tunnel),
): string[] {
  return [
    'rsync',
    // Paths go to the target's rsync inside the protocol, never through its
    // shell: rsync <= 3.2.3 would otherwise let that shell expand them.
    // rsync has had -s since 3.0 (--secluded-args from 3.2.4, same letter).
    // Not with the migration's own key: its gate must see the path and the
    // options on the server's command line to allow exactly those (see
    // allowServerCommand).
    ...(target.gate ? [] : ['-s']),
    '-aHAXS',
    '--numeric-ids',
    '--delete',
    '--partial',
    '--info=progress2',
    '--no-inc-recursive',
    ...(bwlimit ? [`--bwlimit=${Math.max(1, Math.floor(bwlimit / 1024))}`] : []),
    ...rsyncPathOnTarget(target),
    '-e',
    remoteShell,
    `${sourcePath}/`,
    `${targetAddressFromSource(target, tunnel)}:${targetPath}/`,
  ];
}

// Stands in for ssh: prints the command rsync would have ssh send (ssh joins
// its arguments with single spaces, as "$*" does), and ends the run.
const SHOW_SERVER_COMMAND = 'shift; printf "rsync-server-command %s\\n" "$*" >&2; exit 1';
const SHOWN = /^rsync-server-command (.*)$/m;

/**
 * The rsync server's command line depends on the source's rsync (its
 * version's flags) and the options: it is read from that rsync itself, run
 * with a stand-in for ssh, and allowed through the target's gate as it is.
 * The path must be on it whole: a space that an rsync older than 3.2.4
 * leaves unescaped would let the target's shell split it.
 */
async function allowServerCommand(job: RsyncServiceTransfer, gate: RouteGate): Promise<void> {
  // The final sync, inside the outage, runs the seed's very rsync: it is not read again.
  const known = shownFor.get(gate) ?? new Map<string, Promise<void>>();
  shownFor.set(gate, known);
  const key = JSON.stringify([job.sourcePath, job.targetPath, job.bwlimit ?? null]);
  let allowed = known.get(key);
  if (!allowed) {
    allowed = showAndAllow(job, gate);
    known.set(key, allowed);
    allowed.catch(() => known.delete(key));
  }
  return allowed;
}

const shownFor = new WeakMap<RouteGate, Map<string, Promise<void>>>();

async function showAndAllow(job: RsyncServiceTransfer, gate: RouteGate): Promise<void> {
  const args = rsyncArguments(job.sourcePath, job.targetHost, job.targetPath, job.tunnel, job.bwlimit, command(['sh', '-c', SHOW_SERVER_COMMAND, 'show-server-command']).text);
  const shown = await job.source.exec(command(args), { okExitCodes: Array.from({ length: 256 }, (_, code) => code) });
  const serverCommand = SHOWN.exec(shown.stderr)?.[1];
  if (!serverCommand) throw new Error(`rsync on ${job.source.hostId} did not show the command it runs on ${job.targetHost.id}: ${shown.stderr.trim().split('\n').slice(-2).join(' ')}`);
  if (!serverCommand.endsWith(` ${`${job.targetPath}/`.replaceAll(' ', '\\ ')}`)) {
    throw new Error(
      `rsync on ${job.source.hostId} would send ${job.targetPath} to ${job.targetHost.id}'s shell unescaped (${JSON.stringify(serverCommand)}; rsync older than 3.2.4?): ` +
        "the migration's key cannot allow it. Update rsync there, or rename the path without spaces",
    );
  }
  await gate.allow(serverCommand);
}

export async function transferPathByRsync(job: RsyncServiceTransfer): Promise<RsyncTransferOutcome> {
  const size = await job.source.exec(command(['du', '-sb', '--', job.sourcePath]), { okExitCodes: [0, 1] });
  const totalBytes = /^(\d+)/.exec(size.stdout)?.[1];
  const meter = new ProgressMeter(job.service, totalBytes ? Number(totalBytes) : null, job.onProgress ?? (() => {}));
  await job.target.exec(command(['mkdir', '-p', '--', job.targetPath]));
  job.onProgress?.({ type: 'transfer-step', service: job.service, message: `rsync to ${job.targetHost.id}:${job.targetPath}${job.tunnel ? ' (through this machine)' : ''}${job.bwlimit ? `, at most ${formatRate(job.bwlimit)}` : ''}` });

  if (job.targetHost.gate) await allowServerCommand(job, job.targetHost.gate);
  const running = await job.source.stream(command(rsyncArguments(job.sourcePath, job.targetHost, job.targetPath, job.tunnel, job.bwlimit)), job.signal ? { signal: job.signal } : {});
  // progress2 lines: "  1,234,567  45%  10.00MB/s  0:00:10"
  const transferred = meterFromProgressLines(running.stdout, (line) => {
    const match = /^\s*([\d,]+)\s+\d+%/.exec(line);
    return match?.[1] ? Number(match[1].replaceAll(',', '')) : null;
  }, meter);
  await running.done;
  meter.finish();
  return { bytes: transferred(), totalBytes: totalBytes ? Number(totalBytes) : null };
}
