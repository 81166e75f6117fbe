/** Which containers mount a host path (or anything under or above it). */
import type { SshTransport } from '../ssh/transport.js';
import { inspectAllContainers } from './containers.js';

const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';

/** Names of running containers with a mount at, inside or above `path`. */
export async function containersUsingPath(transport: SshTransport, path: string): Promise<string[]> {
  return containersMountingPath(transport, path, { runningOnly: true });
}

/**
 * Names of containers, running or stopped, with a mount at, inside or above
 * `path`; those of compose project `exceptStack` left out.
 */
export async function containersMountingPath(
  transport: SshTransport,
  path: string,
  options: { readonly runningOnly?: boolean; readonly exceptStack?: string; readonly atOrInsideOnly?: boolean } = {},
): Promise<string[]> {
  const overlaps = (source: string) =>
    source === path || source.startsWith(`${path}/`) || (!options.atOrInsideOnly && path.startsWith(`${source.replace(/\/$/, '')}/`));
  return (await inspectAllContainers(transport))
    .filter((container) => !options.runningOnly || container.State.Running)
    .filter((container) => options.exceptStack === undefined || container.Config.Labels?.[COMPOSE_PROJECT_LABEL] !== options.exceptStack)
    .filter((container) => (container.Mounts ?? []).some((mount) => overlaps(mount.Source)))
    .map((container) => container.Name.replace(/^\//, ''));
}
