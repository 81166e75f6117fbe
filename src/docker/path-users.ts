/** Which running containers mount a host path (or anything under it). */
import type { SshTransport } from '../ssh/transport.js';
import { inspectAllContainers } from './containers.js';

/** Names of running containers with a mount at, inside or above `path`. */
export async function containersUsingPath(transport: SshTransport, path: string): Promise<string[]> {
  const overlaps = (source: string) =>
    source === path || source.startsWith(`${path}/`) || path.startsWith(`${source.replace(/\/$/, '')}/`);
  return (await inspectAllContainers(transport))
    .filter((container) => container.State.Running)
    .filter((container) => (container.Mounts ?? []).some((mount) => overlaps(mount.Source)))
    .map((container) => container.Name.replace(/^\//, ''));
}
