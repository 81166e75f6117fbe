/**
 * The fallback when either side has no ZFS (or a path is not on ZFS): rsync
 * run on the source host, pushing to the target over SSH (see
 * source-to-target-ssh.ts for what the source host needs).
 */
import type { HostConfig } from '../config/schema.js';
import { command } from '../ssh/quote.js';
import { rsyncRemoteShell } from './source-to-target-ssh.js';
import type { SshTransport } from '../ssh/transport.js';
import { meterFromProgressLines, ProgressMeter, type ProgressListener } from './progress.js';

export interface RsyncServiceTransfer {
  readonly service: string;
  readonly source: SshTransport;
  readonly sourcePath: string;
  readonly target: SshTransport;
  readonly targetHost: HostConfig;
  readonly targetPath: string;
  readonly onProgress?: ProgressListener;
}

export interface RsyncTransferOutcome {
  readonly bytes: number;
  readonly totalBytes: number | null;
}

export function rsyncArguments(sourcePath: string, target: HostConfig, targetPath: string): string[] {
  return [
    'rsync',
    '-aHAXS',
    '--numeric-ids',
    '--delete',
    '--partial',
    '--info=progress2',
    '--no-inc-recursive',
    '-e',
    rsyncRemoteShell(target),
    `${sourcePath}/`,
    `${target.hostname}:${targetPath}/`,
  ];
}

export async function transferPathByRsync(job: RsyncServiceTransfer): Promise<RsyncTransferOutcome> {
  const size = await job.source.exec(command(['du', '-sb', '--', job.sourcePath]), { okExitCodes: [0, 1] });
  const totalBytes = /^(\d+)/.exec(size.stdout)?.[1];
  const meter = new ProgressMeter(job.service, totalBytes ? Number(totalBytes) : null, job.onProgress ?? (() => {}));
  await job.target.exec(command(['mkdir', '-p', '--', job.targetPath]));
  job.onProgress?.({ type: 'transfer-step', service: job.service, message: `rsync to ${job.targetHost.id}:${job.targetPath}` });

  const running = await job.source.stream(command(rsyncArguments(job.sourcePath, job.targetHost, job.targetPath)));
  // progress2 lines: "  1,234,567  45%  10.00MB/s  0:00:10"
  const transferred = meterFromProgressLines(running.stdout, (line) => {
    const match = /^\s*([\d,]+)\s+\d+%/.exec(line);
    return match?.[1] ? Number(match[1].replaceAll(',', '')) : null;
  }, meter);
  await running.done;
  meter.finish();
  return { bytes: transferred(), totalBytes: totalBytes ? Number(totalBytes) : null };
}
