/**
 * Downtime of a migration, low-downtime (seed while running, stop, send the
 * difference) against --cold (stop, then copy everything), as the stack's
 * data grows: BENCH_DOWNTIME_SIZES_MB (default 100,1024), of which a few MiB
 * change while it runs. Every size and mode in one run, interleaved, alpha →
 * beta each time, everything cleared in between.
 */
import { deployStack } from '../src/docker/stacks.js';
import { migrateStack } from '../src/migration/execute.js';
import { clearStack, closeHosts, dataPath, fillDataset, numbersFromEnv, openHosts, say, withJournalDir } from './fixture.js';
import type { BenchTable } from './report.js';
import { median } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const STACK = 'bench-downtime';
const DATA = `${STACK}-db`;
const MODES = ['low-downtime', 'cold'] as const;
type Mode = (typeof MODES)[number];

const compose = (dataDir: string) => `services:
  db:
    image: local/busybox:test
    command: ["sh", "-c", "while true; do head -c 4194304 /dev/urandom > /data/changing.bin; sleep 1; done"]
    network_mode: none
    init: true
    volumes:
      - ${dataDir}:/data
`;

interface Samples {
  readonly downtime: number[];
  readonly total: number[];
}

export async function downtimeBench(): Promise<BenchTable> {
  const sizesMb = numbersFromEnv('BENCH_DOWNTIME_SIZES_MB', [100, 1024]);
  const [alpha, beta] = await openHosts('alpha', 'beta');
  const samples = new Map<string, Samples>();
  const key = (sizeMb: number, mode: Mode) => `${sizeMb}:${mode}`;
  for (const size of sizesMb) for (const mode of MODES) samples.set(key(size, mode), { downtime: [], total: [] });
  const clear = async () => {
    await clearStack(alpha, STACK, DATA);
    await clearStack(beta, STACK, DATA);
  };
  try {
    await withJournalDir(async (journalDir) => {
      for (let run = 0; run < RUNS; run++) {
        for (const size of sizesMb) {
          for (const mode of MODES) {
            say(`downtime: ${size} MiB, ${mode}, run ${run + 1} of ${RUNS}`);
            await clear();
            await fillDataset(alpha, DATA, size * 2 ** 20);
            await deployStack(alpha, STACK, compose(dataPath(alpha, DATA).path));
            // Let the service write a few times, so the seed and the final send differ.
            await new Promise((resolve) => setTimeout(resolve, 2000));
            const report = await migrateStack(alpha, beta, STACK, { cold: mode === 'cold', journalDir });
            const sample = samples.get(key(size, mode));
            sample?.downtime.push(report.downtimeSeconds);
            sample?.total.push(report.totalSeconds);
          }
        }
      }
    });
  } finally {
    await clear().catch((error: unknown) => say(`downtime: clearing ${STACK} failed: ${String(error)}`));
    await closeHosts([alpha, beta]);
  }

  const downtime = (size: number, mode: Mode) => median(samples.get(key(size, mode))?.downtime ?? []);
  const rows = sizesMb.flatMap((size) =>
    MODES.map((mode) => {
      const sample = samples.get(key(size, mode));
      return [`${size} MiB`, mode, downtime(size, mode).toFixed(2), median(sample?.total ?? []).toFixed(2), String(sample?.downtime.length ?? 0)];
    }),
  );
  const notes = sizesMb.map(
    (size) => `${size} MiB: cold downtime is ${(downtime(size, 'cold') / downtime(size, 'low-downtime')).toFixed(1)}× the low-downtime one (medians, same run).`,
  );
  const smallest = Math.min(...sizesMb);
  const largest = Math.max(...sizesMb);
  if (largest > smallest) {
    const growth = (mode: Mode) => (downtime(largest, mode) / downtime(smallest, mode)).toFixed(1);
    notes.push(
      `From ${smallest} to ${largest} MiB (${(largest / smallest).toFixed(1)}× the data), low-downtime downtime grows ${growth('low-downtime')}×, cold downtime ${growth('cold')}× (same run).`,
    );
  }
  notes.push(
    'Downtime runs from the stop on the source to every service running on the target, verification of the data included; ' +
      'total from the start of the migration to its end. Absolute times are this machine\'s.',
  );
  return {
    name: 'downtime',
    title: `Migration downtime alpha → beta as data grows (${sizesMb.map((s) => `${s} MiB`).join(', ')}), low-downtime against cold, ~4 MiB changing while the stack runs`,
    headers: ['data', 'mode', 'median downtime s', 'median total s', 'runs'],
    rows,
    notes,
  };
}
