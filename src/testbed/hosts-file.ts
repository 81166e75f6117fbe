/** The ready-made hosts.yml that points the tool at the testbed's three hosts. */
import { Document } from 'yaml';
import { setHostFields } from '../config/write.js';
import { TESTBED_USER } from './testbed-user.js';
import { GUEST_DATASET, type GuestSpec } from './guests/guest-layout.js';
import { TESTBED_HOSTS, testbedPaths, testbedSharedPaths } from './layout.js';

export function testbedHostsYaml(guests: readonly GuestSpec[] = []): string {
  const shared = testbedSharedPaths();
  const document = new Document({ hosts: {} });
  document.commentBefore = ' The docker-mcp local testbed: written by "docker-mcp testbed up".';
  for (const host of TESTBED_HOSTS) {
    const paths = testbedPaths(host);
    setHostFields(document, host.name, {
      hostname: host.address,
      user: TESTBED_USER,
      port: 22,
      identity_file: shared.clientKey,
      known_hosts_file: shared.knownHosts,
      description: host.zfs ? `testbed host with ZFS pool ${paths.pool}` : 'testbed host without ZFS (rsync)',
      tags: ['testbed', host.zfs ? 'zfs' : 'no-zfs'],
      compose_path: paths.compose,
      appdata_path: paths.appdata,
      zfs_capable: host.zfs,
      zfs_dataset: host.zfs ? `${paths.pool}/appdata` : null,
      enabled: true,
    });
  }
  for (const guest of guests) {
    setHostFields(document, guest.name, {
      hostname: guest.dnsName,
      user: guest.user,
      port: 22,
      identity_file: shared.clientKey,
      known_hosts_file: shared.knownHosts,
      description: `testbed guest: OpenZFS 2.3 in the kernel, compose v2${guest.sudo ? `, logged in as ${guest.user} with sudo` : ''}`,
      tags: ['testbed', 'zfs', 'openzfs'],
      compose_path: guest.compose,
      appdata_path: guest.appdata,
      zfs_capable: true,
      zfs_dataset: GUEST_DATASET,
      enabled: true,
      ...(guest.sudo ? { sudo: true } : {}),
    });
  }
  return document.toString();
}
