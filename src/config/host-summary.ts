/** How a configured host is shown to a person or a model: the fields that matter, nothing secret. */
import type { HostConfig } from './schema.js';

export interface HostSummary {
  readonly id: string;
  readonly hostname: string;
  readonly user: string;
  readonly port: number;
  readonly description: string;
  readonly tags: readonly string[];
  readonly enabled: boolean;
  readonly zfs_capable: boolean;
  readonly zfs_dataset: string | null;
  readonly compose_path: string | null;
  readonly appdata_path: string | null;
}

export function summarizeHost(host: HostConfig): HostSummary {
  return {
    id: host.id,
    hostname: host.hostname,
    user: host.user,
    port: host.port,
    description: host.description,
    tags: host.tags,
    enabled: host.enabled,
    zfs_capable: host.zfs_capable,
    zfs_dataset: host.zfs_dataset ?? null,
    compose_path: host.compose_path ?? null,
    appdata_path: host.appdata_path ?? null,
  };
}
