/**
 * Where hosts.yml is looked for, in order: --config, $DOCKER_MCP_CONFIG,
 * $DOCKER_HOSTS_CONFIG (the Python tool's variable),
 * ~/.config/docker-mcp/hosts.yml, and last the local testbed's file when the
 * testbed is up (so a machine with no hosts configured still has three).
 * When there is none, the tool starts with no hosts (as the Python tool does)
 * and the first host added creates the file: the one named, else the user's.
 *
 * `./config/hosts.yml` of the current folder is not read unless named: a
 * cloned repository's file would redirect the user's hosts (and choose the
 * known_hosts their keys are checked against). When one is there, the
 * location says so, so that the user hears why it is not used.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testbedHostsFile } from '../testbed/layout.js';

export interface ConfigLocation {
  readonly path: string;
  readonly source: 'flag' | 'DOCKER_MCP_CONFIG' | 'DOCKER_HOSTS_CONFIG' | 'user' | 'testbed';
  /** False until the first host is added: there are no hosts yet. */
  readonly exists: boolean;
  /** `./config/hosts.yml` of the current folder, present and not read (it is used only when named). */
  readonly ignoredFolderFile?: string;
}

/** The current folder's config/hosts.yml, which the Python tool read first; here only when named. */
export const FOLDER_CONFIG_FILE = 'config/hosts.yml';

/** The user's own docker-mcp configuration folder (~/.config/docker-mcp). */
export function userConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.HOME ?? os.homedir(), '.config', 'docker-mcp');
}

export function locateConfig(
  explicitPath?: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): ConfigLocation {
  const named: Omit<ConfigLocation, 'exists'>[] = [];
  if (explicitPath) named.push({ path: path.resolve(cwd, explicitPath), source: 'flag' });
  if (env.DOCKER_MCP_CONFIG) named.push({ path: path.resolve(cwd, env.DOCKER_MCP_CONFIG), source: 'DOCKER_MCP_CONFIG' });
  if (env.DOCKER_HOSTS_CONFIG) named.push({ path: path.resolve(cwd, env.DOCKER_HOSTS_CONFIG), source: 'DOCKER_HOSTS_CONFIG' });

  // A path the user named is the only one used, existing or not: falling back would act on the wrong hosts.
  const [first] = named;
  if (first) return { ...first, exists: existsSync(first.path) };

  const user = { path: path.join(userConfigDir(env), 'hosts.yml'), source: 'user' } as const;
  const candidates = [user, { path: testbedHostsFile(env), source: 'testbed' } as const];
  const found = candidates.find((candidate) => existsSync(candidate.path));
  const folderFile = path.resolve(cwd, FOLDER_CONFIG_FILE);
  const ignored = existsSync(folderFile) ? { ignoredFolderFile: folderFile } : {};
  return found ? { ...found, exists: true, ...ignored } : { ...user, exists: false, ...ignored };
}
