/**
 * What the migration benchmarks share: the testbed's hosts, datasets filled
 * with random data, a journal of their own, and clearing a bench stack from
 * a host (its containers, folder and datasets) before, between and after runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findHost, loadConfig } from '../src/config/load.js';
import type { HostConfig } from '../src/config/schema.js';
import { listStacks, stackAction } from '../src/docker/stacks.js';
import { command } from '../src/ssh/quote.js';
import { SshTransport } from '../src/ssh/transport.js';
import { ZfsHost } from '../src/zfs/zfs-host.js';

/** A host with its transport (a DockerHost) and its ZFS. */
export interface BenchHost {
  readonly host: HostConfig;
  readonly transport: SshTransport;
  readonly zfs: ZfsHost;
}

export async function openHosts<const Ids extends readonly string[]>(...ids: Ids): Promise<{ [K in keyof Ids]: BenchHost }> {
  const config = await loadConfig();
  return ids.map((id) => {
    const host = findHost(config, id);
    const transport = new SshTransport(host);
    return { host, transport, zfs: new ZfsHost(transport) };
  }) as { [K in keyof Ids]: BenchHost };
}

export async function closeHosts(hosts: readonly BenchHost[]): Promise<void> {
  for (const side of hosts) await side.transport.close();
}

/** `a,b,c` from the environment as positive integers, or the default. */
export function numbersFromEnv(name: string, fallback: readonly number[]): number[] {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return [...fallback];
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value <= 0)) {
    throw new Error(`${name}=${JSON.stringify(text)}: expected positive whole numbers separated by commas, e.g. ${fallback.join(',')}`);
  }
  return values;
}

/** The data path of a bench stack's service under the host's appdata, and its dataset. */
export function dataPath(side: BenchHost, name: string): { readonly path: string; readonly dataset: string } {
  return { path: `${needs(side, 'appdata_path')}/${name}`, dataset: `${needs(side, 'zfs_dataset')}/${name}` };
}

/** Create the dataset for `name` under appdata and write `bytes` of random data in it. */
export async function fillDataset(side: BenchHost, name: string, bytes: number): Promise<void> {
  const { path: mountpoint, dataset } = dataPath(side, name);
  await side.zfs.createDataset(dataset);
  await side.transport.exec(command(['sh', '-c', 'head -c "$2" /dev/urandom > "$1/base.bin"', 'fill', mountpoint, String(bytes)]), {
    timeoutMs: 1_800_000,
  });
}

/**
 * Take `stack` down on the host, remove its folder and destroy every dataset
 * under the host's appdata whose name starts with `datasetPrefix` (snapshots
 * included). Only bench names are accepted, so this never touches others' work.
 */
export async function clearStack(side: BenchHost, stack: string, datasetPrefix: string): Promise<void> {
  if (!stack.startsWith('bench-') || !datasetPrefix.startsWith('bench-')) throw new Error(`not a bench name: ${stack}, ${datasetPrefix}`);
  if ((await listStacks(side)).some((s) => s.name === stack)) await stackAction(side, stack, 'down').catch(() => undefined);
  await side.transport.exec(command(['rm', '-rf', '--', `${needs(side, 'compose_path')}/${stack}`]));
  const prefix = dataPath(side, datasetPrefix).dataset;
  const datasets = (await side.zfs.filesystems()).map((fs) => fs.name).filter((name) => name.startsWith(prefix));
  for (const dataset of datasets) if (await side.zfs.dataset(dataset)) await side.zfs.destroyDataset(dataset);
}

/** Run with a migration journal directory of the bench's own, removed afterwards. */
export async function withJournalDir<T>(operation: (journalDir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'docker-mcp-bench-journal-'));
  try {
    return await operation(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A bench stack of one service that only sleeps, its data at `dataDir`; `restart` as compose takes it. */
export function sleeperCompose(dataDir: string, restart?: 'always'): string {
  return sleepersCompose([{ service: 'db', dataDir }], restart);
}

/** Services that sleep, each binding its own data folder to /data. */
export function sleepersCompose(services: readonly { readonly service: string; readonly dataDir: string }[], restart?: 'always'): string {
  const service = ({ service: name, dataDir }: { service: string; dataDir: string }) => `  ${name}:
    image: local/busybox:test
    command: ["sleep", "86400"]
    network_mode: none
    init: true
${restart ? `    restart: ${restart}\n` : ''}    volumes:
      - ${dataDir}:/data
`;
  return `services:\n${services.map(service).join('')}`;
}

/** A progress line on stderr, so a long run shows where it is; the table goes to stdout. */
export function say(line: string): void {
  process.stderr.write(`  ${line}\n`);
}

function needs(side: BenchHost, field: 'appdata_path' | 'zfs_dataset' | 'compose_path'): string {
  const value = side.host[field];
  if (!value) throw new Error(`host ${side.host.id} has no ${field}: the migration benchmarks need the testbed's alpha and beta`);
  return value;
}
