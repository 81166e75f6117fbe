/** Access to the testbed's hosts for integration tests. */
import { loadConfig, findHost, type LoadedConfig } from '../../src/config/load.js';
import type { HostConfig } from '../../src/config/schema.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';

export async function testbedConfig(): Promise<LoadedConfig> {
  return loadConfig(testbedHostsFile(), {});
}

export async function testbedHost(id: 'alpha' | 'beta' | 'gamma'): Promise<HostConfig> {
  return findHost(await testbedConfig(), id);
}
