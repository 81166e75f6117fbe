/** The OpenZFS guests delta and epsilon, for the suites that need only them. */
import type { DockerHost } from '../../src/docker/docker-host.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { testbedHost } from './testbed.js';

export type Guest = 'delta' | 'epsilon';
export const GUESTS: readonly Guest[] = ['delta', 'epsilon'];
export const GUEST_APPDATA: Record<Guest, string> = { delta: '/srv/appdata', epsilon: '/mnt/appdata' };
export const GUEST_COMPOSE: Record<Guest, string> = { delta: '/srv/compose', epsilon: '/opt/stacks' };

export async function openGuests(): Promise<Record<Guest, DockerHost>> {
  const hosts = {} as Record<Guest, DockerHost>;
  for (const id of GUESTS) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  return hosts;
}

/** A shell script on a guest; any exit code is an answer. */
export function guestSh(host: DockerHost, script: string, ...args: string[]) {
  return host.transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 120_000, okExitCodes: Array.from({ length: 256 }, (_, code) => code) });
}

/**
 * Remove the containers, datasets (holds of ours and the tests' own
 * `user-backup` released first), data and stack folders named with `prefix`.
 */
export async function cleanUpGuests(hosts: Record<Guest, DockerHost>, prefix: string): Promise<void> {
  // Both guests at once, and one command for all but the destroys: each command costs a
  // second or two of emulated CPU while the other lane runs.
  await Promise.all(
    GUESTS.map(async (id) => {
      const listed = await guestSh(
        hosts[id],
        [
          'docker ps -aq --filter "name=^$1" | xargs -r docker rm -f >/dev/null',
          'zfs list -H -o name -t snapshot -r tank/appdata | grep "^tank/appdata/$1" | while read -r s; do zfs release user-backup "$s"; done 2>/dev/null',
          'zfs list -H -o name -r tank/appdata | grep "^tank/appdata/$1" | sort -r',
        ].join('\n'),
        prefix,
      );
      const zfs = new ZfsHost(hosts[id].transport);
      for (const name of listed.stdout.split('\n').filter(Boolean)) await zfs.destroyDataset(name);
      await guestSh(hosts[id], 'rm -rf "$1"/"$3"* "$2"/"$3"*', GUEST_APPDATA[id], GUEST_COMPOSE[id], prefix);
    }),
  );
}
