/**
 * What a standby costs and what it buys, alpha → beta, side by side in one
 * run (BENCH_STANDBY_MB of data, default 100; BENCH_RUNS rounds, default 3):
 * - a pass with nothing written since the last one, against `true` over SSH;
 * - a pass after 10 MiB of writes, against a raw incremental
 *   `zfs send -i | zfs receive` of the same 10 MiB over plain ssh;
 * - a migration to the warm standby (one pass before it) against one to a
 *   host with no copy (cold), and both against a plain restart of the stack,
 *   for a stack of one service and one of three (each its own dataset),
 *   BENCH_RUNS times each, interleaved round by round.
 * zfs-fuse (the container testbed) has no `written@`, so its idle pass is a
 * full pass that sends empty incrementals; on OpenZFS it is one command per
 * host (never timed here: the guests are software-emulated).
 */
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { deployStack, stackActionAt } from '../src/docker/stacks.js';
import { migrateStack } from '../src/migration/execute.js';
import { waitUntilRunning } from '../src/migration/wait-running.js';
import { command } from '../src/ssh/quote.js';
import { parseInterval, type StandbyDeclaration } from '../src/standby/declarations.js';
import { runStandbyPass } from '../src/standby/sync-pass.js';
import { clearStack, closeHosts, dataPath, fillDataset, sleeperCompose, sleepersCompose, numbersFromEnv, openHosts, say, type BenchHost } from './fixture.js';
import { rawZfsSend, rawZfsSendIncremental } from './raw-pipe.js';
import type { BenchTable } from './report.js';
import { median, timeMs } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const STACK = 'bench-standby';
const DATA = `${STACK}-db`;
const RAW = `${STACK}-raw`;
const TEN_MIB = 10 * 2 ** 20;

const compose = (dataDir: string) => sleeperCompose(dataDir);

/** The stacks the migrations move: one service, and three (as the authelia, its database and its cache), each with a dataset of its own. */
interface StackShape {
  readonly label: string;
  readonly stack: string;
  readonly services: readonly string[];
}

const SHAPES: readonly StackShape[] = [
  { label: 'one service', stack: `${STACK}-m1`, services: ['db'] },
  { label: 'three services', stack: `${STACK}-m3`, services: ['app', 'db', 'cache'] },
];

interface MoveSamples {
  readonly restart: number[];
  readonly warm: { downtime: number[]; total: number[]; seedBytes: number[] };
  readonly cold: { downtime: number[]; total: number[]; seedBytes: number[] };
}

/**
 * Per round: a plain restart of the stack on alpha (down, up, every service
 * running); a move to a warm beta (a pass just before it, 10 MiB written
 * after the pass); a move to a cold beta (no copy there, no common snapshot
 * on alpha). The stack is deployed afresh on alpha after each move.
 */
async function movesOf(shape: StackShape, sizeMb: number, alpha: BenchHost, beta: BenchHost, options: { stateDir: string; journalDir: string }): Promise<MoveSamples> {
  const samples: MoveSamples = { restart: [], warm: { downtime: [], total: [], seedBytes: [] }, cold: { downtime: [], total: [], seedBytes: [] } };
  const declaration: StandbyDeclaration = { host: 'alpha', stack: shape.stack, to: 'beta', every: '15m', intervalMs: parseInterval('15m'), keep: 4 };
  const datasetOf = (service: string) => `${shape.stack}-${service}`;
  const clear = async () => {
    for (const side of [alpha, beta]) for (const service of shape.services) await clearStack(side, shape.stack, datasetOf(service));
    await dropStaged(beta);
  };
  const deploy = async () => {
    const share = Math.round((sizeMb * 2 ** 20) / shape.services.length);
    for (const service of shape.services) await fillDataset(alpha, datasetOf(service), share);
    const deployed = await deployStack(alpha, shape.stack, sleepersCompose(shape.services.map((service) => ({ service, dataDir: dataPath(alpha, datasetOf(service)).path }))));
    if (!(await waitUntilRunning(alpha, shape.stack, shape.services, 60_000)).ready) throw new Error(`${shape.stack} did not start on alpha`);
    return { project: shape.stack, workingDir: path.posix.dirname(deployed.file), configFiles: [deployed.file] };
  };
  const write = (name: string) => alpha.transport.exec(command(['sh', '-c', 'head -c "$2" /dev/urandom > "$1"', 'write', `${dataPath(alpha, datasetOf('db')).path}/${name}`, String(TEN_MIB)]));
  try {
    await clear();
    let location = await deploy();
    for (let run = 0; run < RUNS; run++) {
      say(`standby: ${shape.label}, round ${run + 1} of ${RUNS}`);
      const stopping = Date.now();
      await stackActionAt(alpha, location, 'down');
      await stackActionAt(alpha, location, 'up');
      if (!(await waitUntilRunning(alpha, shape.stack, shape.services, 60_000)).ready) throw new Error(`${shape.stack} did not come back on alpha after a restart`);
      samples.restart.push((Date.now() - stopping) / 1000);
      for (const kind of ['warm', 'cold'] as const) {
        if (kind === 'warm') {
          const record = await runStandbyPass(alpha, beta, declaration, options);
          if (!record.ok) throw new Error(`the pass before the move failed: ${record.error}`);
        }
        await write(`during-${kind}.bin`);
        const report = await migrateStack(alpha, beta, shape.stack, { journalDir: options.journalDir });
        say(`  ${kind}: downtime ${report.downtimeSeconds.toFixed(2)} s, total ${report.totalSeconds.toFixed(2)} s`);
        samples[kind].downtime.push(report.downtimeSeconds);
        samples[kind].total.push(report.totalSeconds);
        samples[kind].seedBytes.push(report.seed?.bytes ?? 0);
        // The copy on beta is then a stale stack: cleared, and the stack deployed afresh on alpha.
        await clear();
        location = await deploy();
      }
    }
  } finally {
    await clear().catch((error: unknown) => say(`standby: clearing ${shape.stack} failed: ${String(error)}`));
  }
  return samples;
}

/** What the passes staged on the standby for the bench's stacks. */
async function dropStaged(standby: BenchHost): Promise<void> {
  await standby.transport.exec(command(['sh', '-c', 'rm -rf -- "$1"/.docker-mcp-standby/alpha/bench-standby*', 'drop-staged', standby.host.compose_path ?? '/nonexistent']));
}

/** Passes over N declared stacks, nothing written, one after another as `standby sync` runs them: total and per stack, for each N. */
async function passesAsStacksGrow(counts: readonly number[], alpha: BenchHost, beta: BenchHost, options: { stateDir: string; journalDir: string }): Promise<Map<number, number>> {
  const largest = Math.max(...counts);
  const names = Array.from({ length: largest }, (_, i) => `${STACK}-s${i + 1}`);
  const declarations = names.map((stack): StandbyDeclaration => ({ host: 'alpha', stack, to: 'beta', every: '15m', intervalMs: parseInterval('15m'), keep: 2 }));
  const totals = new Map<number, number>();
  try {
    say(`standby: ${largest} small stacks for the scaling rows`);
    for (const stack of names) {
      await fillDataset(alpha, `${stack}-db`, 2 ** 20);
      await deployStack(alpha, stack, compose(dataPath(alpha, `${stack}-db`).path));
    }
    for (const declaration of declarations) await runStandbyPass(alpha, beta, declaration, options);
    for (const count of counts) {
      say(`standby: passes of ${count} declared stacks`);
      totals.set(count, await timeMs(async () => {
        for (const declaration of declarations.slice(0, count)) {
          const record = await runStandbyPass(alpha, beta, declaration, options);
          if (!record.ok) throw new Error(`the pass of ${declaration.stack} failed: ${record.error}`);
        }
      }));
    }
  } finally {
    for (const stack of names) {
      for (const side of [alpha, beta]) await clearStack(side, stack, `${stack}-db`).catch((error: unknown) => say(`standby: clearing ${stack} failed: ${String(error)}`));
    }
    await dropStaged(beta);
  }
  return totals;
}

export async function standbyBench(): Promise<BenchTable> {
  const sizeMb = Number(process.env.BENCH_STANDBY_MB ?? 100);
  const stackCounts = numbersFromEnv('BENCH_STANDBY_STACKS', [1, 10, 30]);
  let scaling = new Map<number, number>();
  const [alpha, beta] = await openHosts('alpha', 'beta');
  const state = await mkdtemp(path.join(os.tmpdir(), 'docker-mcp-bench-standby-'));
  const options = { stateDir: path.join(state, 'standby'), journalDir: path.join(state, 'migrations') };
  const declaration: StandbyDeclaration = { host: 'alpha', stack: STACK, to: 'beta', every: '15m', intervalMs: parseInterval('15m'), keep: 4 };
  const samples = { idlePass: [] as number[], sshTrue: [] as number[], writesPass: [] as number[], rawIncremental: [] as number[] };
  const moves = new Map<StackShape, MoveSamples>();
  const clear = async () => {
    for (const side of [alpha, beta]) {
      await clearStack(side, STACK, DATA);
      await clearStack(side, STACK, RAW);
    }
    await dropStaged(beta);
  };
  const write = (name: string) => alpha.transport.exec(command(['sh', '-c', 'head -c "$2" /dev/urandom > "$1"', 'write', `${dataPath(alpha, DATA).path}/${name}`, String(TEN_MIB)]));
  const pass = async () => {
    const record = await runStandbyPass(alpha, beta, declaration, options);
    if (!record.ok) throw new Error(`the pass failed: ${record.error}`);
    return record;
  };
  try {
    await clear();
    await fillDataset(alpha, DATA, sizeMb * 2 ** 20);
    await deployStack(alpha, STACK, compose(dataPath(alpha, DATA).path));
    await waitUntilRunning(alpha, STACK, ['db'], 60_000);
    say(`standby: first pass of ${sizeMb} MiB`);
    await pass();
    // The raw pipe's own copy, on datasets of its own, seeded in full once.
    await fillDataset(alpha, RAW, 2 ** 20);
    const raw = { source: dataPath(alpha, RAW).dataset, target: dataPath(beta, RAW).dataset };
    await alpha.zfs.snapshot(raw.source, 'raw0');
    await rawZfsSend(alpha.host, `${raw.source}@raw0`, beta.host, raw.target);

    for (let run = 0; run < RUNS; run++) {
      say(`standby: round ${run + 1} of ${RUNS}`);
      samples.sshTrue.push(await timeMs(() => alpha.transport.exec(command(['true']))));
      samples.idlePass.push(await timeMs(pass));
      await write(`w${run}.bin`);
      samples.writesPass.push(await timeMs(pass));
      await alpha.transport.exec(command(['sh', '-c', 'head -c "$2" /dev/urandom > "$1"', 'write', `${dataPath(alpha, RAW).path}/w${run}.bin`, String(TEN_MIB)]));
      await alpha.zfs.snapshot(raw.source, `raw${run + 1}`);
      samples.rawIncremental.push(await timeMs(() => rawZfsSendIncremental(alpha.host, `${raw.source}@raw${run}`, `${raw.source}@raw${run + 1}`, beta.host, raw.target)));
    }
    await clear();
    for (const shape of SHAPES) moves.set(shape, await movesOf(shape, sizeMb, alpha, beta, options));
    scaling = await passesAsStacksGrow(stackCounts, alpha, beta, options);
  } finally {
    await clear().catch((error: unknown) => say(`standby: clearing ${STACK} failed: ${String(error)}`));
    await closeHosts([alpha, beta]);
    await rm(state, { recursive: true, force: true });
  }

  const ms = (values: readonly number[]) => median(values).toFixed(0);
  const s = (values: readonly number[]) => median(values).toFixed(2);
  return {
    name: 'standby',
    title: `Standby alpha → beta (zfs-fuse, container testbed), ${sizeMb} MiB of data, medians of ${RUNS} rounds`,
    headers: ['what', 'ours', 'reference', 'reference is', 'ratio'],
    rows: [
      ['pass, nothing written since the last', `${ms(samples.idlePass)} ms`, `${ms(samples.sshTrue)} ms`, '`true` over the same SSH connection', (median(samples.idlePass) / median(samples.sshTrue)).toFixed(1)],
      ['pass after 10 MiB of writes', `${ms(samples.writesPass)} ms`, `${ms(samples.rawIncremental)} ms`, 'raw `zfs send -i` piped to `zfs receive`, 10 MiB, plain ssh', (median(samples.writesPass) / median(samples.rawIncremental)).toFixed(1)],
      ...SHAPES.flatMap((shape) => {
        const m = moves.get(shape);
        if (!m) return [];
        const restart = median(m.restart);
        const outside = m.warm.total.map((total, i) => total - (m.warm.downtime[i] ?? Number.NaN));
        return [
          [`${shape.label}: migration to the warm standby, downtime`, `${s(m.warm.downtime)} s`, `${restart.toFixed(2)} s`, 'plain restart on alpha (down + up, every service running)', (median(m.warm.downtime) / restart).toFixed(2)],
          [`${shape.label}: migration to the warm standby, total`, `${s(m.warm.total)} s`, `${s(m.warm.downtime)} s`, 'its own downtime', (median(m.warm.total) / median(m.warm.downtime)).toFixed(2)],
          [`${shape.label}: migration to the warm standby, total minus downtime`, `${s(outside)} s`, `${restart.toFixed(2)} s`, 'plain restart on alpha', (median(outside) / restart).toFixed(2)],
          [`${shape.label}: migration to a cold host, downtime`, `${s(m.cold.downtime)} s`, `${restart.toFixed(2)} s`, 'plain restart on alpha', (median(m.cold.downtime) / restart).toFixed(2)],
          [`${shape.label}: migration to a cold host, total`, `${s(m.cold.total)} s`, `${s(m.warm.total)} s`, 'the same to the warm standby', (median(m.cold.total) / median(m.warm.total)).toFixed(2)],
          [`${shape.label}: seed bytes, warm / cold`, `${median(m.warm.seedBytes).toFixed(0)}`, `${median(m.cold.seedBytes).toFixed(0)}`, 'bytes the cold seed sent', (median(m.warm.seedBytes) / median(m.cold.seedBytes)).toFixed(3)],
        ];
      }),
      ...stackCounts.map((count) => {
        const total = scaling.get(count) ?? Number.NaN;
        const one = scaling.get(Math.min(...stackCounts)) ?? Number.NaN;
        return [`passes of ${count} declared stacks, nothing written, one after another`, `${total.toFixed(0)} ms, ${(total / count).toFixed(0)} ms each`, `${(one / Math.min(...stackCounts)).toFixed(0)} ms`, `one pass, of ${Math.min(...stackCounts)} stack${Math.min(...stackCounts) > 1 ? 's' : ''}`, (total / count / (one / Math.min(...stackCounts))).toFixed(2)];
      }),
    ],
    notes: [
      'All figures from this one run, interleaved round by round. The pass runs in this process (no CLI start-up), with the stack folder and images staged each pass.',
      'On zfs-fuse a pass with nothing written is a full pass (no `written@`): it reads the stack with compose, snapshots, sends empty incrementals and stages the folder. On OpenZFS it is one command per host; the guests are emulated, so it is not timed here.',
      `The migrations move a running stack of one service, then one of three (each service its own dataset, the data above split evenly), ${RUNS} times each, a restart, a warm and a cold move per round; 10 MiB is written to the db service's data after the pass, just before the move. Warm: one pass just before the move; cold: beta holds no copy and alpha no common snapshot. Total minus downtime is the work before the stop and after the start (reading the stack with compose, pre-flight and the route key, the seed of what changed since the pass beside the folder's copy; after the start, leaving the source read-only and pruning).`,
      `The scaling rows: ${Math.max(...stackCounts)} stacks of one service and 1 MiB each, passed once untimed, then the first N passed one after another (as \`standby sync\` and the scheduler run them); ratio = per-stack time against the single pass.`,
    ],
  };
}
