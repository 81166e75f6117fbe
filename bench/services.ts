/**
 * Migration time as the number of services grows: a stack of N services,
 * each with a data path (dataset) of its own, migrated alpha → beta by
 * docker-mcp (low-downtime), for N in BENCH_SERVICES (default 1,3,10).
 * The total data is fixed (BENCH_SERVICES_TOTAL_MB, default 300, split
 * evenly), so what grows is the per-service work: datasets, snapshots,
 * sends, verifications, containers. Beside it, the raw `zfs send | zfs
 * receive` pipe moves the same datasets one after another. Runs interleaved,
 * everything cleared in between.
 */
import { deployStack } from '../src/docker/stacks.js';
import { migrateStack } from '../src/migration/execute.js';
import { clearStack, closeHosts, dataPath, fillDataset, numbersFromEnv, openHosts, say, withJournalDir, type BenchHost } from './fixture.js';
import { rawZfsSend } from './raw-pipe.js';
import type { BenchTable } from './report.js';
import { median, timeMs } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const STACK = 'bench-services';
const RAW_SNAPSHOT = 'bench-raw';

const serviceName = (index: number) => `s${index + 1}`;
const dataName = (index: number) => `${STACK}-${serviceName(index)}`;
const rawName = (index: number) => `${STACK}-raw-${serviceName(index)}`;

/** Each service rewrites a small file every second, so the final send has something to carry. */
function compose(source: BenchHost, count: number): string {
  const services = Array.from(
    { length: count },
    (_, index) => `  ${serviceName(index)}:
    image: local/busybox:test
    command: ["sh", "-c", "while true; do date > /data/heartbeat; sleep 1; done"]
    network_mode: none
    init: true
    volumes:
      - ${dataPath(source, dataName(index)).path}:/data
`,
  );
  return `services:\n${services.join('')}`;
}

interface Samples {
  readonly total: number[];
  readonly downtime: number[];
  readonly raw: number[];
}

export async function servicesBench(): Promise<BenchTable> {
  const counts = numbersFromEnv('BENCH_SERVICES', [1, 3, 10]);
  const [totalMb = 300] = numbersFromEnv('BENCH_SERVICES_TOTAL_MB', [300]);
  const [alpha, beta] = await openHosts('alpha', 'beta');
  const samples = new Map<number, Samples>(counts.map((count) => [count, { total: [], downtime: [], raw: [] }]));
  const clear = async () => {
    await clearStack(alpha, STACK, STACK);
    await clearStack(beta, STACK, STACK);
  };
  try {
    await withJournalDir(async (journalDir) => {
      for (let run = 0; run < RUNS; run++) {
        for (const count of counts) {
          say(`services: ${count}, run ${run + 1} of ${RUNS}`);
          const sample = samples.get(count) as Samples;
          const indexes = Array.from({ length: count }, (_, index) => index);
          await clear();
          for (const index of indexes) await fillDataset(alpha, dataName(index), Math.floor((totalMb * 2 ** 20) / count));

          // The reference first, while the data is still: the same datasets, one after another.
          for (const index of indexes) await alpha.zfs.snapshot(dataPath(alpha, dataName(index)).dataset, RAW_SNAPSHOT);
          sample.raw.push(
            await timeMs(async () => {
              for (const index of indexes) {
                await rawZfsSend(alpha.host, `${dataPath(alpha, dataName(index)).dataset}@${RAW_SNAPSHOT}`, beta.host, dataPath(beta, rawName(index)).dataset);
              }
            }),
          );
          // Room on beta's pool, and no snapshot on alpha that the migration did not make.
          for (const index of indexes) {
            await beta.zfs.destroyDataset(dataPath(beta, rawName(index)).dataset);
            await alpha.zfs.destroySnapshot(dataPath(alpha, dataName(index)).dataset, RAW_SNAPSHOT);
          }

          await deployStack(alpha, STACK, compose(alpha, count));
          await new Promise((resolve) => setTimeout(resolve, 1000));
          const report = await migrateStack(alpha, beta, STACK, { journalDir });
          sample.total.push(report.totalSeconds * 1000);
          sample.downtime.push(report.downtimeSeconds * 1000);
        }
      }
    });
  } finally {
    await clear().catch((error: unknown) => say(`services: clearing ${STACK} failed: ${String(error)}`));
    await closeHosts([alpha, beta]);
  }

  const seconds = (count: number, what: keyof Samples) => median(samples.get(count)?.[what] ?? []) / 1000;
  const perServiceMb = (count: number) => (totalMb / count).toFixed(totalMb % count === 0 ? 0 : 1);
  const rows = counts.map((count) => [
    String(count),
    `${perServiceMb(count)} MiB`,
    seconds(count, 'total').toFixed(2),
    seconds(count, 'downtime').toFixed(2),
    seconds(count, 'raw').toFixed(2),
    (seconds(count, 'total') / seconds(count, 'raw')).toFixed(2),
    String(samples.get(count)?.total.length ?? 0),
  ]);
  const notes: string[] = [];
  const fewest = Math.min(...counts);
  const most = Math.max(...counts);
  if (most > fewest) {
    const perService = (what: keyof Samples) => ((seconds(most, what) - seconds(fewest, what)) / (most - fewest)).toFixed(2);
    notes.push(
      `From ${fewest} to ${most} services, each service more adds ${perService('total')} s to docker-mcp's total, ${perService('downtime')} s to its downtime ` +
        `and ${perService('raw')} s to the raw pipe (medians, same run, same data in all).`,
    );
  }
  notes.push(
    'docker-mcp: `migrateStack`, low-downtime, direct route where it works; total covers pre-flight, snapshots, seed, stop, final send, ' +
      'verification (guid and metadata manifest per dataset), the stack folder and the start of every service; downtime runs from the stop to every service running. ' +
      'Raw: `ssh alpha zfs send | ssh beta zfs receive` from this machine per dataset, a new SSH connection each, full sends, nothing else. ' +
      "Absolute times are this machine's.",
  );
  return {
    name: 'services',
    title: `Migration alpha → beta as the number of services grows (${counts.join(', ')}), ${totalMb} MiB of data in all split evenly over one dataset per service`,
    headers: ['services', 'data per service', 'median total s', 'median downtime s', 'raw pipe s', 'total × raw', 'runs'],
    rows,
    notes,
  };
}
