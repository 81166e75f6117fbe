/** One SshTransport per host for the life of the process, so the master connection is shared. */
import type { SshConnectionOptions, SshHost } from './options.js';
import { DEFAULT_SSH_OPTIONS } from './options.js';
import { SshTransport } from './transport.js';

export class SshPool {
  private readonly transports = new Map<string, SshTransport>();

  /** `firstContact`: for a host, what must run before anything else reaches it (see SshTransport.onFirstContact). */
  constructor(
    private readonly options: SshConnectionOptions = DEFAULT_SSH_OPTIONS,
    private readonly firstContact?: (host: SshHost) => () => Promise<void>,
  ) {}

  get(host: SshHost): SshTransport {
    let transport = this.transports.get(host.id);
    if (!transport) {
      transport = new SshTransport(host, this.options);
      if (this.firstContact) transport.onFirstContact(this.firstContact(host));
      this.transports.set(host.id, transport);
    }
    return transport;
  }

  /** Close the host's connection, so the next `get` uses its current settings (after hosts.yml changed). */
  async forget(hostId: string): Promise<void> {
    const transport = this.transports.get(hostId);
    this.transports.delete(hostId);
    await transport?.close();
  }

  /** Close every master connection this pool opened. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.transports.values()].map((transport) => transport.close()));
    this.transports.clear();
  }
}
