/** The engine's own description of itself (`docker info`), as JSON. */
import { command } from '../ssh/quote.js';
import type { DockerHost } from './docker-host.js';

export async function dockerInfo(target: DockerHost): Promise<Record<string, unknown>> {
  const result = await target.transport.exec(command(['docker', 'info', '--format', '{{json .}}']));
  return JSON.parse(result.stdout) as Record<string, unknown>;
}
