/** Host ports a stack publishes that a running container on the target already holds. Pure. */
import type { ResolvedPort } from '../docker/compose-config.js';
import type { ContainerSummary } from '../docker/inspect.js';

export interface PortConflict {
  readonly service: string;
  readonly port: number;
  readonly protocol: string;
  readonly container: string;
}

export function portConflicts(ports: readonly ResolvedPort[], running: readonly ContainerSummary[], project: string): PortConflict[] {
  const conflicts: PortConflict[] = [];
  for (const port of ports) {
    const holder = running.find(
      (c) => c.state === 'running' && c.stack !== project && c.ports.some((spec) => publishes(spec, port.published, port.protocol)),
    );
    if (holder) conflicts.push({ service: port.service, port: port.published, protocol: port.protocol, container: holder.name });
  }
  return conflicts;
}

/** "[ip:]HOSTPORT->CONTAINERPORT/proto", as the engine's summary lists a published port. */
function publishes(spec: string, port: number, protocol: string): boolean {
  const match = /(?:^|:)(\d+)->\d+(?:-\d+)?\/(\w+)$/.exec(spec);
  return match !== null && Number(match[1]) === port && match[2] === protocol;
}
