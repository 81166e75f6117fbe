/** Wait until every service of a stack runs, and is healthy where it has a healthcheck. */
import { setTimeout as sleep } from 'node:timers/promises';
import { listContainers } from '../docker/containers.js';
import type { DockerHost } from '../docker/docker-host.js';

export interface StackHealth {
  readonly ready: boolean;
  readonly services: readonly { readonly service: string; readonly state: string; readonly health: string | null }[];
}

/**
 * Every service runs (healthy where it has a healthcheck), or, for a
 * one-shot service (see ResolvedProject.oneShot), completed: exited 0.
 */
export async function stackHealth(target: DockerHost, stack: string, services: readonly string[], oneShot: readonly string[] = []): Promise<StackHealth> {
  const containers = (await listContainers(target)).filter((c) => c.stack === stack);
  const rows = services.map((service) => {
    const container = containers.find((c) => c.service === service);
    const completed = oneShot.includes(service) && container?.state === 'exited' && container.exitCode === 0;
    return { service, state: completed ? 'completed' : (container?.state ?? 'missing'), health: container?.health ?? null };
  });
  return { ready: rows.every(isUp), services: rows };
}

/** A service counts as started: running (and healthy where checked), or a one-shot that completed. Pure. */
export function isUp(row: StackHealth['services'][number]): boolean {
  return row.state === 'completed' || (row.state === 'running' && (row.health === null || row.health === 'healthy'));
}

export async function waitUntilRunning(target: DockerHost, stack: string, services: readonly string[], timeoutMs: number, oneShot: readonly string[] = []): Promise<StackHealth> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await stackHealth(target, stack, services, oneShot);
    if (health.ready || Date.now() > deadline) return health;
    await sleep(500);
  }
}
