/**
 * What the migration tests share: the testbed's hosts, a journal directory of
 * their own, a small two-service stack (one data path a dataset, the other a
 * plain directory, converted on the way), and a clean-up of everything named
 * with the test file's prefix (other people's stacks on the testbed are left alone).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { listContainers } from '../../src/docker/containers.js';
import { deployStack } from '../../src/docker/stacks.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { compareManifests, readManifest, type ManifestDifference } from '../../src/transfer/manifest.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { runCli, type CliRun } from './cli.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

export type Id = 'alpha' | 'beta' | 'gamma';

export class MigrateKit {
  readonly stateDir = mkdtempSync(path.join(os.tmpdir(), 'rz-journal-'));
  /** Where the CLI run with this kit's DOCKER_MCP_STATE_DIR keeps its journal. */
  readonly journalDir = path.join(this.stateDir, 'migrations');

  private constructor(
    readonly prefix: string,
    readonly hosts: Record<Id, DockerHost>,
  ) {}

  static async open(prefix: string): Promise<MigrateKit> {
    const hosts = {} as Record<Id, DockerHost>;
    for (const id of ['alpha', 'beta', 'gamma'] as const) {
      const host = await testbedHost(id);
      hosts[id] = { host, transport: new SshTransport(host) };
    }
    return new MigrateKit(prefix, hosts);
  }

  sh(id: Id, script: string, ...args: string[]) {
    return this.hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]));
  }

  /** The CLI as a child process, with this kit's journal directory. */
  cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
    return runCli(args, { DOCKER_MCP_STATE_DIR: this.stateDir, ...env });
  }

  /** Running containers of the stack on each host. */
  async running(stack: string): Promise<Record<Id, number>> {
    const counts = {} as Record<Id, number>;
    for (const id of ['alpha', 'beta', 'gamma'] as const) {
      counts[id] = (await listContainers(this.hosts[id])).filter((c) => c.stack === stack && c.state === 'running').length;
    }
    return counts;
  }

  /** Datasets of the stack under the host's appdata. */
  async datasets(id: 'alpha' | 'beta', stack: string): Promise<string[]> {
    const listed = await this.hosts[id].transport.exec(command(['zfs', 'list', '-H', '-o', 'name', '-r', `${id}/appdata`]));
    return listed.stdout.split('\n').filter((name) => name.startsWith(`${id}/appdata/${stack}-`));
  }

  async exists(id: Id, file: string): Promise<boolean> {
    return (await this.hosts[id].transport.exec(command(['test', '-e', file]), { okExitCodes: [0, 1] })).exitCode === 0;
  }

  /**
   * Deploy a two-service stack on alpha: `<stack>-a` is a dataset, `<stack>-b`
   * a plain directory (converted to a dataset when migrated). Nothing in it
   * writes to its data, so the data can be compared before and after.
   */
  async deployTwoServiceStack(stack: string, image = 'local/busybox:test'): Promise<void> {
    await new ZfsHost(this.hosts.alpha.transport).createDataset(`alpha/appdata/${stack}-a`);
    await this.sh(
      'alpha',
      'echo "key: value" > "$1/config.yml" && head -c 100000 /dev/urandom > "$1/blob" && mkdir -p "$2/sub" && head -c 200000 /dev/urandom > "$2/sub/ibdata" && echo x > "$2/.hidden"',
      `/srv/alpha/appdata/${stack}-a`,
      `/srv/alpha/appdata/${stack}-b`,
    );
    await deployStack(this.hosts.alpha, stack, twoServiceStack(stack, 'alpha', image));
  }

  /** A snapshot of the source data to compare with later. */
  async sourceData(stack: string): Promise<() => Promise<ManifestDifference[]>> {
    const paths = [`/srv/alpha/appdata/${stack}-a`, `/srv/alpha/appdata/${stack}-b`];
    const before = await Promise.all(paths.map((p) => readManifest(this.hosts.alpha.transport, p)));
    return async () => {
      const after = await Promise.all(paths.map((p) => readManifest(this.hosts.alpha.transport, p)));
      // The root's mtime changes when a plain directory becomes a dataset; its contents do not.
      return before.flatMap((manifest, index) => compareManifests(manifest, after[index]!, { ignoreRootMtime: true }));
    };
  }

  /** Remove every container, dataset, folder, image and volume named with the prefix. */
  async cleanUp(): Promise<void> {
    for (const id of ['alpha', 'beta', 'gamma'] as const) await cleanUpPrefix(this.hosts[id], id, this.prefix);
  }

  async close(): Promise<void> {
    await this.cleanUp();
    for (const host of Object.values(this.hosts)) await host.transport.close();
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

export function twoServiceStack(stack: string, host: Id, image: string): string {
  const service = (name: string, path: string, mountedAt: string) => `  ${name}:
    image: ${image}
    command: ["sleep", "3600"]
    network_mode: none
    init: true
    volumes:
      - /srv/${host}/appdata/${stack}-${path}:${mountedAt}
`;
  return `services:\n${service('app', 'a', '/data')}${service('db', 'b', '/var/lib/db')}`;
}
