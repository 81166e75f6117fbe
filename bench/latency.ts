/**
 * Median latency of a trivial remote command (`true`) with the multiplexed
 * master connection and with a fresh SSH connection per command, side by
 * side in one run.
 */
import type { HostConfig } from '../src/config/schema.js';
import { DEFAULT_SSH_OPTIONS } from '../src/ssh/options.js';
import { command } from '../src/ssh/quote.js';
import { SshTransport } from '../src/ssh/transport.js';
import type { BenchTable } from './report.js';
import { median, quantile, timeMs } from './stats.js';

const RUNS = 40;

export async function latencyBench(host: HostConfig): Promise<BenchTable> {
  const multiplexed = new SshTransport(host);
  const fresh = new SshTransport(host, { ...DEFAULT_SSH_OPTIONS, multiplex: false });
  await multiplexed.connect();
  const samples = { multiplexed: [] as number[], fresh: [] as number[] };
  // Interleave the two so that machine noise hits both alike.
  for (let i = 0; i < RUNS; i += 1) {
    samples.multiplexed.push(await timeMs(() => multiplexed.exec(command(['true']))));
    samples.fresh.push(await timeMs(() => fresh.exec(command(['true']))));
  }
  await multiplexed.close();
  const row = (name: string, values: number[]) => [
    name,
    median(values).toFixed(1),
    quantile(values, 0.9).toFixed(1),
    String(values.length),
  ];
  const ratio = median(samples.fresh) / median(samples.multiplexed);
  return {
    name: 'latency',
    title: `Remote command latency on ${host.id} (${host.hostname}), \`true\` over SSH`,
    headers: ['connection', 'median ms', 'p90 ms', 'runs'],
    rows: [row('multiplexed (ControlMaster)', samples.multiplexed), row('new connection each time', samples.fresh)],
    notes: [`A new connection per command is ${ratio.toFixed(1)}× slower than the multiplexed one (median, same run).`],
  };
}
