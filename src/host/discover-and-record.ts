/**
 * Probe hosts and record in hosts.yml what was found about ZFS
 * (`zfs_capable`, `zfs_dataset`), as the Python tool's discover does; `add`
 * runs it for the new host.
 */
import type { LoadedConfig } from '../config/load.js';
import type { HostConfig } from '../config/schema.js';
import { setHostFields, writeConfigFile } from '../config/write.js';
import type { SshPool } from '../ssh/pool.js';
import { discoverHost, type HostCapabilities } from './capabilities.js';
import { forEachHost, type HostRow } from './fan-out.js';

export interface DiscoveryRecord {
  readonly hosts: HostRow<HostCapabilities>[];
  /** Hosts whose ZFS fields changed in hosts.yml. */
  readonly config_updated: string[];
}

/** `record: false` (a read-only server) probes and reports without writing hosts.yml. */
export async function discoverAndRecord(ssh: SshPool, config: LoadedConfig, hosts: readonly HostConfig[], options: { record: boolean }): Promise<DiscoveryRecord> {
  const rows = await forEachHost(hosts, (host) => discoverHost(ssh.get(host), host));
  const updated: string[] = [];
  for (const row of rows) {
    if (!row.ok) continue;
    const host = hosts.find((candidate) => candidate.id === row.hostId) as HostConfig;
    const zfs = row.value.zfs;
    const capable = zfs.available && zfs.appdataDataset !== null;
    const dataset = capable ? zfs.appdataDataset : (host.zfs_dataset ?? null);
    if (host.zfs_capable !== capable || (host.zfs_dataset ?? null) !== dataset) {
      setHostFields(config.document, host.id, { zfs_capable: capable, ...(dataset ? { zfs_dataset: dataset } : {}) });
      updated.push(host.id);
    }
  }
  if (options.record && updated.length > 0) await writeConfigFile(config.location.path, config.document);
  return { hosts: rows, config_updated: options.record ? updated : [] };
}
