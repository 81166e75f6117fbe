/**
 * Reclaim space on a host, in the levels the Python docker-mcp offers. Named
 * volumes are never pruned at any level: they hold service data, and no
 * level here has a verified copy of it.
 */
import { command } from '../ssh/quote.js';
import type { DockerHost } from './docker-host.js';

export const CLEANUP_LEVELS = ['check', 'safe', 'moderate', 'aggressive'] as const;
export type CleanupLevel = (typeof CLEANUP_LEVELS)[number];

const PRUNE_COMMANDS: Record<Exclude<CleanupLevel, 'check'>, readonly (readonly string[])[]> = {
  // Stopped containers and networks no container uses.
  safe: [
    ['docker', 'container', 'prune', '--force'],
    ['docker', 'network', 'prune', '--force'],
  ],
  // And dangling images and build cache.
  moderate: [['docker', 'system', 'prune', '--force']],
  // And every image no container uses.
  aggressive: [['docker', 'system', 'prune', '--all', '--force']],
};

export interface CleanupReport {
  readonly level: CleanupLevel;
  /** `docker system df` before (and, when something was pruned, after). */
  readonly usageBefore: readonly Record<string, unknown>[];
  readonly usageAfter: readonly Record<string, unknown>[] | null;
  readonly output: string;
}

export async function cleanupHost(target: DockerHost, level: CleanupLevel): Promise<CleanupReport> {
  const usageBefore = await diskUsage(target);
  if (level === 'check') return { level, usageBefore, usageAfter: null, output: '' };
  let output = '';
  for (const argv of PRUNE_COMMANDS[level]) output += (await target.transport.exec(command(argv), { timeoutMs: 600_000 })).stdout;
  return { level, usageBefore, usageAfter: await diskUsage(target), output };
}

async function diskUsage(target: DockerHost): Promise<Record<string, unknown>[]> {
  const result = await target.transport.exec(command(['docker', 'system', 'df', '--format', '{{json .}}']));
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
