/**
 * Downtime of a migration, low-downtime (seed while running, stop, send the
 * difference) against --cold (stop, then copy everything), for a stack whose
 * data is BENCH_SIZE_MB (default 256) of which a few MiB change while it runs.
 * Runs interleaved, alpha → beta each time, everything cleared in between.
 */
import { findHost, loadConfig } from '../src/config/load.js';
import type { DockerHost } from '../src/docker/docker-host.js';
import { deployStack, listStacks, stackAction } from '../src/docker/stacks.js';
import { migrateStack } from '../src/migration/execute.js';
import { command } from '../src/ssh/quote.js';
import { SshTransport } from '../src/ssh/transport.js';
import { ZfsHost } from '../src/zfs/zfs-host.js';
import type { BenchTable } from './report.js';
import { median } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const SIZE_MB = Number(process.env.BENCH_SIZE_MB ?? 256);
const STACK = 'bench-downtime';

const compose = (appdata: string) => `services:
  db:
    image: local/busybox:test
    command: ["sh", "-c", "while true; do head -c 4194304 /dev/urandom > /data/changing.bin; sleep 1; done"]
    network_mode: none
    init: true
    volumes:
      - ${appdata}/${STACK}-db:/data
`;

async function clear(target: DockerHost): Promise<void> {
  if ((await listStacks(target)).some((s) => s.name === STACK)) await stackAction(target, STACK, 'down').catch(() => undefined);
  await target.transport.exec(command(['rm', '-rf', '--', `${target.host.compose_path}/${STACK}`]));
  const zfs = new ZfsHost(target.transport);
  const dataset = `${target.host.zfs_dataset}/${STACK}-db`;
  if (await zfs.dataset(dataset)) await zfs.destroyDataset(dataset);
}

export async function downtimeBench(): Promise<BenchTable> {
  const config = await loadConfig();
  const host = (id: string): DockerHost => {
    const found = findHost(config, id);
    return { host: found, transport: new SshTransport(found) };
  };
  const alpha = host('alpha');
  const beta = host('beta');
  const samples = { 'low-downtime': [] as number[], cold: [] as number[] };
  const totals = { 'low-downtime': [] as number[], cold: [] as number[] };
  const stateDir = `/tmp/docker-mcp-bench-journal-${process.pid}`;
  for (let run = 0; run < RUNS; run++) {
    for (const mode of ['low-downtime', 'cold'] as const) {
      await clear(alpha);
      await clear(beta);
      const dataset = `${alpha.host.zfs_dataset}/${STACK}-db`;
      await new ZfsHost(alpha.transport).createDataset(dataset);
      await alpha.transport.exec(
        command(['sh', '-c', 'head -c "$2" /dev/urandom > "$1/base.bin"', 'fill', `${alpha.host.appdata_path}/${STACK}-db`, String(SIZE_MB * 1024 * 1024)]),
        { timeoutMs: 600_000 },
      );
      await deployStack(alpha, STACK, compose(alpha.host.appdata_path ?? ''));
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const report = await migrateStack(alpha, beta, STACK, { cold: mode === 'cold', journalDir: stateDir });
      samples[mode].push(report.downtimeSeconds);
      totals[mode].push(report.totalSeconds);
    }
  }
  await clear(alpha);
  await clear(beta);
  await alpha.transport.close();
  await beta.transport.close();
  const row = (mode: 'low-downtime' | 'cold') => [mode, `${SIZE_MB} MiB`, median(samples[mode]).toFixed(2), median(totals[mode]).toFixed(2), String(samples[mode].length)];
  return {
    name: 'downtime',
    title: `Migration downtime alpha → beta, a stack with ${SIZE_MB} MiB of data of which ~4 MiB change while it runs`,
    headers: ['mode', 'data', 'median downtime s', 'median total s', 'runs'],
    rows: [row('low-downtime'), row('cold')],
    notes: [
      `Cold downtime is ${(median(samples.cold) / median(samples['low-downtime'])).toFixed(1)}× the low-downtime one (medians, same run). ` +
        'Downtime runs from the stop on the source to every service running on the target, verification of the data included.',
    ],
  };
}
