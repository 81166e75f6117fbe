/** Test stacks on the testbed: an authelia-shaped compose file, and clean-up of everything a test prefix made. */
import type { DockerHost } from '../../src/docker/docker-host.js';
import { command } from '../../src/ssh/quote.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';

export type TestbedId = 'alpha' | 'beta' | 'gamma';

/** Three services, each with its own data path under the host's appdata; the first keeps writing while it runs. */
export function authStackFile(stack: string, host: TestbedId, image = 'local/busybox:test'): string {
  return `# ${stack}: kept comment
services:
  authelia:
    image: ${image}
    command: ["sh", "-c", "while true; do date >> /config/heartbeat.log; sleep 0.2; done"]
    network_mode: none
    init: true
    volumes:
      - /srv/${host}/appdata/${stack}-authelia:/config   # config and heartbeat
  authelia-mariadb:
    image: ${image}
    command: ["sleep", "3600"]
    network_mode: none
    init: true
    volumes:
      - /srv/${host}/appdata/${stack}-authelia-mariadb:/var/lib/mysql
  authelia-redis:
    image: ${image}
    command: ["sleep", "3600"]
    network_mode: none
    init: true
    volumes:
      - /srv/${host}/appdata/${stack}-authelia-redis:/data
`;
}

/** Remove the containers, volumes, datasets, data, stack folders and local/ images whose names start with `prefix`. */
export async function cleanUpPrefix(target: DockerHost, id: TestbedId, prefix: string): Promise<void> {
  const sh = (script: string, ...args: string[]) => target.transport.exec(command(['sh', '-c', script, 'sh', ...args]));
  await sh('docker ps -aq --filter "name=^$1" | xargs -r docker rm -f >/dev/null', prefix);
  await sh('docker volume ls -q | grep "^$1" | xargs -r docker volume rm -f >/dev/null; true', prefix);
  if (id !== 'gamma') {
    const zfs = new ZfsHost(target.transport);
    const datasets = (await target.transport.exec(command(['zfs', 'list', '-H', '-o', 'name', '-r', `${id}/appdata`]))).stdout
      .split('\n')
      .filter((name) => name.startsWith(`${id}/appdata/${prefix}`))
      .sort()
      .reverse();
    for (const dataset of datasets) await zfs.destroyDataset(dataset);
  }
  await sh('rm -rf /srv/"$1"/appdata/"$2"* /srv/"$1"/compose/"$2"*', id, prefix);
  await sh('docker images --format "{{.Repository}}:{{.Tag}}" | grep "^local/$1" | xargs -r docker rmi -f >/dev/null; true', prefix);
}
