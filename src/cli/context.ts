/** What every CLI command needs: the loaded hosts.yml and one SSH pool. */
import type { Command } from 'commander';
import { enabledHosts, findHost, loadConfig, type LoadedConfig } from '../config/load.js';
import type { HostConfig } from '../config/schema.js';
import { fenceOnFirstContact } from '../failover/fence.js';
import { DEFAULT_SSH_OPTIONS } from '../ssh/options.js';
import { SshPool } from '../ssh/pool.js';
import type { DockerHost } from '../docker/docker-host.js';

export interface CliContext {
  readonly config: LoadedConfig;
  readonly ssh: SshPool;
  /** The named hosts, or every enabled host when none is named. */
  selectHosts(hostIds: readonly string[]): HostConfig[];
}

export async function cliContext(command: Command): Promise<CliContext> {
  const { config: configPath } = command.optsWithGlobals<{ config?: string }>();
  const config = await loadConfig(configPath);
  return {
    config,
    // A host a stack was failed over from is fenced before anything else reaches it.
    ssh: new SshPool(DEFAULT_SSH_OPTIONS, fenceOnFirstContact(async () => config, (line) => process.stderr.write(`${line}\n`))),
    selectHosts: (hostIds) =>
      hostIds.length === 0 ? enabledHosts(config) : hostIds.map((hostId) => findHost(config, hostId)),
  };
}

/** One named host with its transport, for commands that act on a single host. */
export function dockerHostOf(context: CliContext, hostId: string): DockerHost {
  const [host] = context.selectHosts([hostId]);
  if (!host) throw new Error(`host ${hostId} not found`);
  return { host, transport: context.ssh.get(host) };
}
