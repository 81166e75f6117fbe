/**
 * The main job, on the built-in testbed: bring the three hosts up, deploy a
 * sample authelia-shaped stack on alpha whose services write into their own
 * data paths, and migrate it, data and all, to beta. It only ever touches the
 * testbed (never the hosts of a user's own hosts.yml), and it clears what an
 * earlier demo left before it starts.
 */
import { findHost, loadConfig } from '../config/load.js';
import { listContainers, removeContainer } from '../docker/containers.js';
import type { DockerHost } from '../docker/docker-host.js';
import { RemovalGuard } from '../docker/removal-guard.js';
import { deployStack, listStacks, stackAction } from '../docker/stacks.js';
import { migrateStack, type MigrationReport } from '../migration/execute.js';
import { SshPool } from '../ssh/pool.js';
import { testbedHostsFile } from '../testbed/layout.js';
import { testbedUp } from '../testbed/testbed.js';
import type { ProgressListener } from '../transfer/progress.js';
import { ensureServiceDataset } from '../zfs/service-dataset.js';
import { ZfsHost } from '../zfs/zfs-host.js';

export const DEMO_STACK = 'demo-authelia';
const SERVICES = ['authelia', 'authelia-mariadb', 'authelia-redis'] as const;

export function demoComposeFile(appdata: string): string {
  const service = (name: string, script: string) => `  ${name}:
    image: local/busybox:test
    command: ["sh", "-c", ${JSON.stringify(script)}]
    network_mode: none
    init: true
    volumes:
      - ${appdata}/${DEMO_STACK}-${name}:/data
`;
  return `# docker-mcp demo: an authelia-shaped stack, each service with its own data path
services:
${service('authelia', 'echo "jwt_secret: demo" > /data/configuration.yml; while true; do date >> /data/notifications.log; sleep 1; done')}${service('authelia-mariadb', 'test -f /data/ibdata1 || head -c 20000000 /dev/urandom > /data/ibdata1; while true; do date >> /data/binlog.000001; sleep 0.5; done')}${service('authelia-redis', 'while true; do date > /data/dump.rdb; sleep 2; done')}`;
}

export interface DemoResult {
  readonly hostsFile: string;
  readonly report: MigrationReport;
}

export async function runDemo(say: (line: string) => void, onProgress?: ProgressListener): Promise<DemoResult> {
  say('bringing the local testbed up (alpha, beta, gamma)');
  const up = await testbedUp();
  const config = await loadConfig(testbedHostsFile());
  const pool = new SshPool();
  const host = (id: string): DockerHost => {
    const found = findHost(config, id);
    return { host: found, transport: pool.get(found) };
  };
  const alpha = host('alpha');
  const beta = host('beta');
  try {
    await clearEarlierDemo(alpha);
    await clearEarlierDemo(beta);
    // One dataset per service from the start, as an operator would: then the
    // seed can go while the stack runs (a plain directory in use cannot be
    // converted until the stack stops).
    for (const service of SERVICES) {
      await ensureServiceDataset(new ZfsHost(alpha.transport), alpha.host, `${alpha.host.appdata_path}/${DEMO_STACK}-${service}`);
    }
    say(`deploying ${DEMO_STACK} on alpha (3 services writing into their own data paths)`);
    await deployStack(alpha, DEMO_STACK, demoComposeFile(alpha.host.appdata_path ?? '/srv/alpha/appdata'));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    say(`migrating ${DEMO_STACK} from alpha to beta`);
    const report = await migrateStack(alpha, beta, DEMO_STACK, onProgress ? { onProgress } : {});
    return { hostsFile: up.hostsFile, report };
  } finally {
    await pool.closeAll();
  }
}

/** Remove what an earlier demo left on a host: its stack, folder and data. */
async function clearEarlierDemo(target: DockerHost): Promise<void> {
  const earlier = (await listStacks(target)).find((stack) => stack.name === DEMO_STACK);
  // When compose cannot take it down (its folder deleted by hand, or lost
  // with the pool it lived on), its containers are removed by label below.
  if (earlier) await stackAction(target, DEMO_STACK, 'down').catch(() => undefined);
  for (const container of (await listContainers(target)).filter((c) => c.stack === DEMO_STACK)) {
    await removeContainer(target, container.id, { confirmed: true, force: true });
  }
  const guard = await RemovalGuard.open(target, DEMO_STACK);
  await guard.removeFolder(`${target.host.compose_path}/${DEMO_STACK}`);
  if (target.host.zfs_dataset) {
    const zfs = new ZfsHost(target.transport);
    for (const service of SERVICES) {
      const dataset = `${target.host.zfs_dataset}/${DEMO_STACK}-${service}`;
      if (await zfs.dataset(dataset)) await zfs.destroyDataset(dataset);
    }
  }
  for (const service of SERVICES) {
    await guard.removeFolder(`${target.host.appdata_path}/${DEMO_STACK}-${service}`);
  }
}
