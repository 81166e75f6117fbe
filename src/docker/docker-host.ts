/** A configured host together with its SSH transport: what every docker function works on. */
import type { HostConfig } from '../config/schema.js';
import type { SshTransport } from '../ssh/transport.js';

export interface DockerHost {
  readonly host: HostConfig;
  readonly transport: SshTransport;
}
