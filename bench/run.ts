/**
 * `npm run bench` runs every benchmark; `npm run bench -- NAME` runs one.
 * Benchmarks print figures measured side by side; they never pass or fail.
 */
import { findHost, loadConfig } from '../src/config/load.js';
import { downtimeBench } from './downtime.js';
import { failoverBench } from './failover.js';
import { fanoutBench } from './fanout.js';
import { latencyBench } from './latency.js';
import { report, type BenchTable } from './report.js';
import { servicesBench } from './services.js';
import { standbyBench } from './standby.js';
import { transferBench } from './transfer.js';

const BENCHES: Record<string, () => Promise<BenchTable>> = {
  latency: async () => latencyBench(findHost(await loadConfig(), process.env.BENCH_HOST ?? 'alpha')),
  transfer: transferBench,
  fanout: fanoutBench,
  downtime: downtimeBench,
  services: servicesBench,
  standby: standbyBench,
  failover: failoverBench,
};

const requested = process.argv.slice(2);
const names = requested.length > 0 ? requested : Object.keys(BENCHES);
for (const name of names) {
  const bench = BENCHES[name];
  if (!bench) {
    process.stderr.write(`unknown benchmark ${JSON.stringify(name)}; there are: ${Object.keys(BENCHES).join(', ')}\n`);
    process.exit(2);
  }
  report(await bench());
}
