/**
 * Mount points on a host, from the kernel's own table (/proc/self/mountinfo):
 * tmpfs, NFS, bind mounts and nested datasets alike, which a device-number
 * comparison would miss for a bind mount of the same filesystem.
 */
import { command } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

/** Mount points at `path` or anywhere under it (`strictlyUnder`: not `path` itself). */
export async function mountPointsUnder(transport: SshTransport, path: string, options: { strictlyUnder?: boolean } = {}): Promise<string[]> {
  const table = await transport.exec(command(['cat', '/proc/self/mountinfo']), { joinInFlight: true });
  return mountPointsIn(parseMountInfo(table.stdout), path, options);
}

/** Pure: the mount points among `mountPoints` at or under `path`, sorted, each once. */
export function mountPointsIn(mountPoints: readonly string[], path: string, options: { strictlyUnder?: boolean } = {}): string[] {
  const inside = mountPoints.filter((mount) => mount.startsWith(`${path}/`) || (!options.strictlyUnder && mount === path));
  return [...new Set(inside)].sort();
}

/** Pure: the mount point (fifth field, octal escapes undone) of every line of mountinfo. */
export function parseMountInfo(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => field !== undefined && field !== '')
    .map((field) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))));
}
