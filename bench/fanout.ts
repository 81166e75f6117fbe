/**
 * Listing containers on every configured host: all hosts at once (the
 * tool's fan-out) against one host after another, interleaved in one run.
 * Master connections are opened first, so both sides pay only commands.
 */
import { enabledHosts, loadConfig } from '../src/config/load.js';
import { listContainers } from '../src/docker/containers.js';
import { forEachHost } from '../src/host/fan-out.js';
import { SshPool } from '../src/ssh/pool.js';
import type { BenchTable } from './report.js';
import { median, quantile, timeMs } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);

export async function fanoutBench(): Promise<BenchTable> {
  const hosts = enabledHosts(await loadConfig());
  const pool = new SshPool();
  await Promise.all(hosts.map((host) => pool.get(host).connect()));
  const list = (host: (typeof hosts)[number]) => listContainers({ host, transport: pool.get(host) });
  const samples = { parallel: [] as number[], sequential: [] as number[] };
  for (let run = 0; run < RUNS; run++) {
    samples.parallel.push(await timeMs(() => forEachHost(hosts, list)));
    samples.sequential.push(
      await timeMs(async () => {
        for (const host of hosts) await list(host);
      }),
    );
  }
  await pool.closeAll();
  const row = (name: string, values: number[]) => [name, median(values).toFixed(0), quantile(values, 0.9).toFixed(0), String(values.length)];
  return {
    name: 'fanout',
    title: `Listing containers on ${hosts.length} hosts (${hosts.map((h) => h.id).join(', ')})`,
    headers: ['how', 'median ms', 'p90 ms', 'runs'],
    rows: [row('all hosts at once (fan-out)', samples.parallel), row('one host after another', samples.sequential)],
    notes: [
      `Fan-out is ${(median(samples.sequential) / median(samples.parallel)).toFixed(1)}× faster than one after another (medians, same run). ` +
        'The testbed hosts share 2 CPU cores, which caps the gain; on separate machines it approaches the number of hosts.',
    ],
  };
}
