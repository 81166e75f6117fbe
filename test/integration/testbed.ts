/** Access to the testbed's hosts for integration tests. */
import { loadConfig, findHost, type LoadedConfig } from '../../src/config/load.js';
import type { HostConfig } from '../../src/config/schema.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';

export async function testbedConfig(): Promise<LoadedConfig> {
  return loadConfig(testbedHostsFile(), {});
}

/** Every host of the testbed's hosts.yml, in its order: the container hosts, then the OpenZFS guests. */
export const TESTBED_HOST_IDS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'] as const;

export async function testbedHost(id: (typeof TESTBED_HOST_IDS)[number]): Promise<HostConfig> {
  return findHost(await testbedConfig(), id);
}
