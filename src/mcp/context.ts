/**
 * What every MCP tool call works with: hosts.yml, read afresh for each call
 * (the `docker_hosts` tool edits it while the server runs), one SSH pool for
 * the life of the server, so master connections are shared across calls, and
 * the server's mode.
 */
import { EventEmitter } from 'node:events';
import { findHost, loadConfig, type LoadedConfig } from '../config/load.js';
import type { HostConfig } from '../config/schema.js';
import type { DockerHost } from '../docker/docker-host.js';
import { fenceOnFirstContact } from '../failover/fence.js';
import { log } from '../log.js';
import { DEFAULT_SSH_OPTIONS } from '../ssh/options.js';
import { SshPool } from '../ssh/pool.js';

export interface McpMode {
  /** Only actions that change nothing are offered (and callable). */
  readonly readOnly?: boolean;
}

export class McpContext {
  // A host a stack was failed over from is fenced before anything else reaches it (after a failover here, the pool forgets that host).
  readonly ssh = new SshPool(DEFAULT_SSH_OPTIONS, fenceOnFirstContact(() => this.config(), (line) => log.warn(line)));
  readonly readOnly: boolean;
  // Every session's server listens, so each client hears of hosts another one added or removed.
  private readonly events = new EventEmitter().setMaxListeners(0);

  /** `configPath`: the --config flag of `serve`; else the usual look-up order. */
  constructor(
    private readonly configPath?: string,
    mode: McpMode = {},
  ) {
    this.readOnly = mode.readOnly === true;
  }

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

  /** Hosts were added to or removed from hosts.yml. */
  hostsChanged(): void {
    this.events.emit('hosts-changed');
  }

  onHostsChanged(listener: () => void): () => void {
    this.events.on('hosts-changed', listener);
    return () => this.events.off('hosts-changed', listener);
  }

  close(): Promise<void> {
    return this.ssh.closeAll();
  }
}
