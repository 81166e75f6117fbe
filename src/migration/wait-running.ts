/** Wait until every service of a stack runs, and is healthy where it has a healthcheck. */
import { setTimeout as sleep } from 'node:timers/promises';
import { listContainers } from '../docker/containers.js';
import type { DockerHost } from '../docker/docker-host.js';

export interface StackHealth {
  readonly ready: boolean;
  readonly services: readonly { readonly service: string; readonly state: string; readonly health: string | null }[];
}

export async function stackHealth(target: DockerHost, stack: string, services: readonly string[]): Promise<StackHealth> {
  const containers = (await listContainers(target)).filter((c) => c.stack === stack);
  const rows = services.map((service) => {
    const container = containers.find((c) => c.service === service);
    return { service, state: container?.state ?? 'missing', health: container?.health ?? null };
  });
  const ready = rows.every((row) => row.state === 'running' && (row.health === null || row.health === 'healthy'));
  return { ready, services: rows };
}

export async function waitUntilRunning(target: DockerHost, stack: string, services: readonly string[], timeoutMs: number): Promise<StackHealth> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await stackHealth(target, stack, services);
    if (health.ready || Date.now() > deadline) return health;
    await sleep(500);
  }
}
