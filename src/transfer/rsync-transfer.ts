/**
 * The fallback when either side has no ZFS (or a path is not on ZFS): rsync
 * run on the source host, pushing to the target over SSH (see
 * source-to-target-ssh.ts for what the source host needs).
 */
import { command } from '../ssh/quote.js';
import { rsyncPathOnTarget, rsyncRemoteShell, targetAddressFromSource, type TargetFromSource, type ThroughTunnel } from './source-to-target-ssh.js';
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
  readonly onProgress?: ProgressListener;
}

export interface RsyncTransferOutcome {
  readonly bytes: number;
  readonly totalBytes: number | null;
}

export function rsyncArguments(sourcePath: string, target: TargetFromSource, targetPath: string, tunnel?: ThroughTunnel, bwlimit?: number): string[] {
  return [
    'rsync',
    // Paths go to the target's rsync inside the protocol, never through its
    // shell: rsync <= 3.2.3 would otherwise let that shell expand them.
    // rsync has had -s since 3.0 (--secluded-args from 3.2.4, same letter).
    '-s',
    '-aHAXS',
    '--numeric-ids',
    '--delete',
    '--partial',
    '--info=progress2',
    '--no-inc-recursive',
    ...(bwlimit ? [`--bwlimit=${Math.max(1, Math.floor(bwlimit / 1024))}`] : []),
    ...rsyncPathOnTarget(target),
    '-e',
    rsyncRemoteShell(target, tunnel),
    `${sourcePath}/`,
    `${targetAddressFromSource(target, tunnel)}:${targetPath}/`,
  ];
}

export async function transferPathByRsync(job: RsyncServiceTransfer): Promise<RsyncTransferOutcome> {
  const size = await job.source.exec(command(['du', '-sb', '--', job.sourcePath]), { okExitCodes: [0, 1] });
  const totalBytes = /^(\d+)/.exec(size.stdout)?.[1];
  const meter = new ProgressMeter(job.service, totalBytes ? Number(totalBytes) : null, job.onProgress ?? (() => {}));
  await job.target.exec(command(['mkdir', '-p', '--', job.targetPath]));
  job.onProgress?.({ type: 'transfer-step', service: job.service, message: `rsync to ${job.targetHost.id}:${job.targetPath}${job.tunnel ? ' (through this machine)' : ''}${job.bwlimit ? `, at most ${formatRate(job.bwlimit)}` : ''}` });

  const running = await job.source.stream(command(rsyncArguments(job.sourcePath, job.targetHost, job.targetPath, job.tunnel, job.bwlimit)));
  // progress2 lines: "  1,234,567  45%  10.00MB/s  0:00:10"
  const transferred = meterFromProgressLines(running.stdout, (line) => {
    const match = /^\s*([\d,]+)\s+\d+%/.exec(line);
    return match?.[1] ? Number(match[1].replaceAll(',', '')) : null;
  }, meter);
  await running.done;
  meter.finish();
  return { bytes: transferred(), totalBytes: totalBytes ? Number(totalBytes) : null };
}
