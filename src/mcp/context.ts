/**
 * What every MCP tool call works with: hosts.yml, read afresh for each call
 * (the `docker_hosts` tool edits it while the server runs), and one SSH pool
 * for the life of the server, so master connections are shared across calls.
 */
import { findHost, loadConfig, type LoadedConfig } from '../config/load.js';
import type { HostConfig } from '../config/schema.js';
import type { DockerHost } from '../docker/docker-host.js';
import { SshPool } from '../ssh/pool.js';

export class McpContext {
  readonly ssh = new SshPool();

  /** `configPath`: the --config flag of `serve`; else the usual look-up order. */
  constructor(private readonly configPath?: string) {}

  config(): Promise<LoadedConfig> {
    return loadConfig(this.configPath);
  }

  async dockerHost(hostId: string): Promise<DockerHost> {
    const host = findHost(await this.config(), hostId);
    return this.attach(host);
  }

  attach(host: HostConfig): DockerHost {
    return { host, transport: this.ssh.get(host) };
  }

  close(): Promise<void> {
    return this.ssh.closeAll();
  }
}
