/** Human-readable sizes, durations and progress, for the CLI and the MCP server's progress messages. */
import type { MountOrigin } from '../docker/mount-origin.js';
import type { ProgressEvent } from '../transfer/progress.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** One line saying what a progress event says. */
export function describeProgress(event: ProgressEvent): string {
  switch (event.type) {
    case 'migration-phase':
      return `${event.phase}: ${event.message}`;
    case 'transfer-step':
      return `${event.service}: ${event.message}`;
    case 'transfer-progress': {
      const total = event.bytesTotal === null ? '' : ` of ${formatBytes(event.bytesTotal)}`;
      const eta = event.etaSeconds === null ? '' : `, ETA ${event.etaSeconds.toFixed(0)} s`;
      return `${event.service}: ${formatBytes(event.bytesDone)}${total}, ${formatBytes(event.bytesPerSecond)}/s${eta}`;
    }
  }
}

/** "file:line (VAR)", where a mount's host path is written. */
export function writtenAt(origin: MountOrigin | null): string {
  if (!origin) return '-';
  return `${origin.file}:${origin.line}${origin.variable ? ` (${origin.variable})` : ''}`;
}
