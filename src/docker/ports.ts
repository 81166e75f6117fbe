/** Host ports published by the running containers of a host. */
import { listContainers } from './containers.js';
import type { DockerHost } from './docker-host.js';

export interface PublishedPort {
  readonly container: string;
  readonly stack: string | null;
  readonly mapping: string;
  readonly host_port: number;
}

export async function publishedPorts(target: DockerHost): Promise<PublishedPort[]> {
  const containers = await listContainers(target, { running: true });
  return containers.flatMap((c) =>
    c.ports
      .filter((mapping) => mapping.includes('->'))
      .map((mapping) => ({ container: c.name, stack: c.stack, mapping, host_port: Number(mapping.split('->')[0]?.split(':').at(-1)) })),
  );
}
