/**
 * Where hosts.yml is looked for, in order: --config, $DOCKER_MCP_CONFIG,
 * $DOCKER_HOSTS_CONFIG (the Python tool's variable), ./config/hosts.yml,
 * ~/.config/docker-mcp/hosts.yml, and last the local testbed's file when the
 * testbed is up (so a machine with no hosts configured still has three).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigNotFoundError } from './errors.js';
import { testbedHostsFile } from '../testbed/layout.js';

export interface ConfigLocation {
  readonly path: string;
  readonly source: 'flag' | 'DOCKER_MCP_CONFIG' | 'DOCKER_HOSTS_CONFIG' | 'project' | 'user' | 'testbed';
}

export function locateConfig(
  explicitPath?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): ConfigLocation {
  const explicit: ConfigLocation[] = [];
  if (explicitPath) explicit.push({ path: path.resolve(cwd, explicitPath), source: 'flag' });
  if (env.DOCKER_MCP_CONFIG) explicit.push({ path: path.resolve(cwd, env.DOCKER_MCP_CONFIG), source: 'DOCKER_MCP_CONFIG' });
  if (env.DOCKER_HOSTS_CONFIG) explicit.push({ path: path.resolve(cwd, env.DOCKER_HOSTS_CONFIG), source: 'DOCKER_HOSTS_CONFIG' });

  // A path the user named must exist: silently falling back would act on the wrong hosts.
  const [first] = explicit;
  if (first) {
    if (!existsSync(first.path)) throw new ConfigNotFoundError([first.path], `${first.source} names a file that does not exist`);
    return first;
  }

  const candidates: ConfigLocation[] = [
    { path: path.resolve(cwd, 'config/hosts.yml'), source: 'project' },
    { path: path.join(env.HOME ?? os.homedir(), '.config/docker-mcp/hosts.yml'), source: 'user' },
    { path: testbedHostsFile(env), source: 'testbed' },
  ];
  const found = candidates.find((candidate) => existsSync(candidate.path));
  if (!found) throw new ConfigNotFoundError(candidates.map((c) => c.path));
  return found;
}
