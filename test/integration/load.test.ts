/**
 * Load: 9 stacks (more than twice what may run at once) on alpha, moved to beta, asked 5 at a time (the per-process bound lets 4 run). Nothing is lost: every
 * stack ends running on beta only, with each data path equal to what alpha
 * held when it stopped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { listContainers } from '../../src/docker/containers.js';
import { deployStack } from '../../src/docker/stacks.js';
import { migrateStacks } from '../../src/migration/migrate-many.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { compareManifests, readManifest, type Manifest } from '../../src/transfer/manifest.js';
import { ZfsHost } from '../../src/zfs/zfs-host.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

const prefix = `ld${process.pid}`;
const STACKS = Array.from({ length: 9 }, (_, i) => `${prefix}-s${String(i).padStart(2, '0')}`);
const journalDir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-load-journal-'));
let alpha: DockerHost;
let beta: DockerHost;

/** Two services with static data: one path already a dataset, the other a plain directory (converted on the way). */
const stackFile = (stack: string, root: string) => `services:
  app:
    image: local/busybox:test
    command: ["sleep", "3600"]
    network_mode: none
    init: true
    volumes:
      - ${root}/${stack}-app:/data
  db:
    image: local/busybox:test
    command: ["sleep", "3600"]
    network_mode: none
    init: true
    volumes:
      - ${root}/${stack}-db:/var/lib/db
`;

beforeAll(async () => {
  for (const [id, set] of [['alpha', (h: DockerHost) => (alpha = h)], ['beta', (h: DockerHost) => (beta = h)]] as const) {
    const host = await testbedHost(id);
    set({ host, transport: new SshTransport(host) });
  }
  const limit = pLimit(5);
  await Promise.all(
    STACKS.map((stack) =>
      limit(async () => {
        await new ZfsHost(alpha.transport).createDataset(`alpha/appdata/${stack}-app`);
        await alpha.transport.exec(
          command(['sh', '-c', 'head -c 1048576 /dev/urandom > "$1/blob" && echo "$3" > "$1/.name" && mkdir -p "$2" && echo "$3" > "$2/rows"', 'sh', `/srv/alpha/appdata/${stack}-app`, `/srv/alpha/appdata/${stack}-db`, stack]),
        );
        await deployStack(alpha, stack, stackFile(stack, '/srv/alpha/appdata'));
      }),
    ),
  );
}, 600_000);

afterAll(async () => {
  await cleanUpPrefix(alpha, 'alpha', prefix);
  await cleanUpPrefix(beta, 'beta', prefix);
  await alpha.transport.close();
  await beta.transport.close();
  rmSync(journalDir, { recursive: true, force: true });
});

describe('load', () => {
  it('moves 9 stacks from alpha to beta, asked 5 at a time (at most 4 run at once in one process), losing nothing', async () => {
    const manifests = async (host: DockerHost, root: string) => {
      const all = new Map<string, Manifest>();
      for (const stack of STACKS) {
        for (const name of ['app', 'db']) all.set(`${stack}-${name}`, await readManifest(host.transport, `${root}/${stack}-${name}`, { hashes: true }));
      }
      return all;
    };
    const before = await manifests(alpha, '/srv/alpha/appdata');

    const results = await migrateStacks(alpha, beta, STACKS, { concurrency: 5, journalDir });

    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.stack)).toEqual(STACKS);
    const onBeta = (await listContainers(beta)).filter((c) => c.stack?.startsWith(prefix) && c.state === 'running');
    const onAlpha = (await listContainers(alpha)).filter((c) => c.stack?.startsWith(prefix));
    expect(onBeta).toHaveLength(STACKS.length * 2);
    expect(onAlpha).toEqual([]);
    const after = await manifests(beta, '/srv/beta/appdata');
    for (const [dataPath, manifest] of before) expect(compareManifests(manifest, after.get(dataPath)!), dataPath).toEqual([]);
    // What is tested is that nothing is lost; how long 9 moves take depends on what else the machine runs.
  }, 900_000);
});
