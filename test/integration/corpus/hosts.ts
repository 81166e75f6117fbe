/** The testbed's hosts as the corpus tests use them. */
import { SshTransport } from '../../../src/ssh/transport.js';
import { testbedHost, type TESTBED_HOST_IDS } from '../testbed.js';
import type { CorpusHost } from './deploy.js';

export type HostId = (typeof TESTBED_HOST_IDS)[number];

export async function openCorpusHost(id: HostId): Promise<CorpusHost> {
  const host = await testbedHost(id);
  if (host.compose_path === null || host.compose_path === undefined) throw new Error(`${id} has no compose_path in the testbed's hosts.yml`);
  if (host.appdata_path === null || host.appdata_path === undefined) throw new Error(`${id} has no appdata_path in the testbed's hosts.yml`);
  return {
    id,
    docker: { host, transport: new SshTransport(host) },
    appdata: host.appdata_path,
    composeRoot: host.compose_path,
    dataset: host.zfs_dataset ?? null,
  };
}
