/** Which running containers mount a host path (or anything under it). */
import { command } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

interface InspectedMounts {
  readonly Name?: string;
  readonly Mounts?: readonly { readonly Source?: string }[];
}

/** Names of running containers with a mount at, inside or above `path`. */
export async function containersUsingPath(transport: SshTransport, path: string): Promise<string[]> {
  const running = (await transport.exec(command(['docker', 'ps', '-q']))).stdout.split('\n').filter(Boolean);
  if (running.length === 0) return [];
  const containers = JSON.parse((await transport.exec(command(['docker', 'inspect', ...running]))).stdout) as InspectedMounts[];
  const overlaps = (source: string) =>
    source === path || source.startsWith(`${path}/`) || path.startsWith(`${source.replace(/\/$/, '')}/`);
  return containers
    .filter((container) => (container.Mounts ?? []).some((mount) => mount.Source !== undefined && overlaps(mount.Source)))
    .map((container) => (container.Name ?? '').replace(/^\//, ''));
}
