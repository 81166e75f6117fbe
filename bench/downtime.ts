/**
 * Downtime of a migration, low-downtime (seed, stack folder and images while
 * running, stop, send the difference) against --cold (stop, then copy
 * everything), as the stack's data grows: BENCH_DOWNTIME_SIZES_MB (default
 * 100,1024), of which a few MiB change while it runs. Beside each, in the
 * same run, a plain restart of the same stack on the source (compose down,
 * then up, timed as the migration times its downtime: from the stop to every
 * service running), and the migration's downtime as a multiple of it, phase
 * by phase. Every size and mode in one run, interleaved, alpha → beta each
 * time, everything cleared in between.
 */
import path from 'node:path';
import { deployStack, stackActionAt } from '../src/docker/stacks.js';
import { migrateStack } from '../src/migration/execute.js';
import { waitUntilRunning } from '../src/migration/wait-running.js';
import { clearStack, closeHosts, dataPath, fillDataset, numbersFromEnv, openHosts, say, withJournalDir } from './fixture.js';
import type { BenchTable } from './report.js';
import { median } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const STACK = 'bench-downtime';
const DATA = `${STACK}-db`;
const MODES = ['low-downtime', 'cold'] as const;
type Mode = (typeof MODES)[number];
/** The phases inside the outage, in the order they run. */
const DOWN_PHASES = ['stop', 'final-sync', 'verify', 'folder-sync', 'start'] as const;

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
  readonly phases: Map<string, number[]>;
}

export async function downtimeBench(): Promise<BenchTable> {
  const sizesMb = numbersFromEnv('BENCH_DOWNTIME_SIZES_MB', [100, 1024]);
  const [alpha, beta] = await openHosts('alpha', 'beta');
  const samples = new Map<string, Samples>();
  const key = (sizeMb: number, mode: Mode) => `${sizeMb}:${mode}`;
  for (const size of sizesMb) for (const mode of MODES) samples.set(key(size, mode), { downtime: [], total: [], phases: new Map() });
  const restarts = new Map<number, number[]>(sizesMb.map((size) => [size, []]));
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
            const deployed = await deployStack(alpha, STACK, compose(dataPath(alpha, DATA).path));
            const location = { project: STACK, workingDir: path.posix.dirname(deployed.file), configFiles: [deployed.file] };
            await waitUntilRunning(alpha, STACK, ['db'], 60_000);
            // The baseline, on the same host, same stack, same data, just before: a plain restart,
            // `compose down` then `compose up -d` in the stack's folder over the same SSH connection.
            const stopping = Date.now();
            await stackActionAt(alpha, location, 'down');
            await stackActionAt(alpha, location, 'up');
            const back = await waitUntilRunning(alpha, STACK, ['db'], 60_000);
            if (!back.ready) throw new Error(`${STACK} did not come back on alpha after a restart`);
            restarts.get(size)?.push((Date.now() - stopping) / 1000);
            // Let the service write a few times, so the seed and the final send differ.
            await new Promise((resolve) => setTimeout(resolve, 2000));
            const report = await migrateStack(alpha, beta, STACK, { cold: mode === 'cold', journalDir });
            const sample = samples.get(key(size, mode));
            sample?.downtime.push(report.downtimeSeconds);
            sample?.total.push(report.totalSeconds);
            for (const timing of report.phases.filter((p) => p.inDowntime)) {
              sample?.phases.set(timing.phase, [...(sample.phases.get(timing.phase) ?? []), timing.seconds]);
            }
            say(`  downtime ${report.downtimeSeconds.toFixed(2)} s: ${report.phases.map((p) => `${p.phase} ${p.seconds.toFixed(2)}`).join(', ')}`);
          }
        }
      }
    });
  } finally {
    await clear().catch((error: unknown) => say(`downtime: clearing ${STACK} failed: ${String(error)}`));
    await closeHosts([alpha, beta]);
  }

  const downtime = (size: number, mode: Mode) => median(samples.get(key(size, mode))?.downtime ?? []);
  const restart = (size: number) => median(restarts.get(size) ?? []);
  const rows = sizesMb.flatMap((size) => [
    [`${size} MiB`, 'plain restart on alpha (down + up)', restart(size).toFixed(2), '1.00', ...DOWN_PHASES.map(() => '-'), '-', String(restarts.get(size)?.length ?? 0)],
    ...MODES.map((mode) => {
      const sample = samples.get(key(size, mode));
      const phase = (name: string) => {
        const values = sample?.phases.get(name) ?? [];
        return values.length > 0 ? median(values).toFixed(2) : '-';
      };
      return [
        `${size} MiB`,
        `migration, ${mode}`,
        downtime(size, mode).toFixed(2),
        (downtime(size, mode) / restart(size)).toFixed(2),
        ...DOWN_PHASES.map(phase),
        median(sample?.total ?? []).toFixed(2),
        String(sample?.downtime.length ?? 0),
      ];
    }),
  ]);
  const notes = sizesMb.flatMap((size) => [
    `${size} MiB: a low-downtime migration's downtime is ${(downtime(size, 'low-downtime') / restart(size)).toFixed(2)}× a plain restart of the same stack on alpha (goal: 1.3× at most); cold ${(downtime(size, 'cold') / restart(size)).toFixed(2)}× (medians, same run).`,
  ]);
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
      'the restart from `compose down` (then `compose up -d`, in the stack folder on alpha, over the same SSH connection) to every service running again, measured the same way (the same wait for running services). ' +
      'Phase columns are the phases inside the outage (medians): stop = compose down on alpha; final-sync = the last incremental sends, every data path at once; ' +
      'verify = manifests of the data on both hosts; folder-sync = the stack folder (copied, with the images, before the stop) compared by manifest and what changed sent; ' +
      'start = compose up on beta until every service runs. Total from the start of the migration to its end. Absolute times are this machine\'s.',
  );
  if (process.env.BENCH_MACHINE_SHARED) {
    notes.push(`The machine was shared during this run (${process.env.BENCH_MACHINE_SHARED}): absolute times are inflated; restart and migration ran interleaved in the same run, so their ratio still compares.`);
  }
  return {
    name: 'downtime',
    title: `Migration downtime alpha → beta against a plain restart, as data grows (${sizesMb.map((s) => `${s} MiB`).join(', ')}), low-downtime and cold, ~4 MiB changing while the stack runs`,
    headers: ['data', 'what', 'median downtime s', '× restart', ...DOWN_PHASES.map((p) => `${p} s`), 'median total s', 'runs'],
    rows,
    notes,
  };
}
